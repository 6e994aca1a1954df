package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.HEARTBEAT;
import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Config#commitLinger()}: a follower with nothing in flight learns of a new commit index
 * from an empty append sent only once the linger has passed, unless an append carrying it goes
 * first.
 */
class CommitLingerTest {
  private static final Membership THREE = members(1, 2, 3);
  private static final long LINGER = 2_000_000L;

  /** Leader 1 of term 1 with a 2 ms linger, whose followers acked the blank (1,2): committed 2. */
  private static Engine leaderThatJustCommitted(final long[] heartbeatDue) {
    final Config config = Engines.configBuilder().commitLinger(Duration.ofNanos(LINGER)).build();
    final Engine engine = node(1, THREE).config(config).buildLeader(1);
    heartbeatDue[0] = engine.nextDeadlineNanos();
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);
    engine.endBatch();
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    return engine;
  }

  private static List<Command.SendAppend> sends(final List<Command> commands) {
    return commands.stream().filter(c -> c instanceof Command.SendAppend).map(c -> (Command.SendAppend) c).toList();
  }

  @Test
  void shouldSendTheCommitOnlyAppendOnceTheLingerHasPassed() {
    final long[] heartbeatDue = new long[1];
    final Engine engine = leaderThatJustCommitted(heartbeatDue);
    assertThat(sends(drain(engine))).as("no commit-only append at once").isEmpty();

    final long due = engine.nextDeadlineNanos();
    assertThat(heartbeatDue[0] - due).as("the engine wakes a linger after the commit, before the heartbeat")
        .isEqualTo(HEARTBEAT - LINGER);
    engine.tick(due - 1);
    assertThat(sends(drain(engine))).isEmpty();

    engine.tick(due);
    assertThat(sends(drain(engine))).containsExactly(
        new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 3, 2, -1),
        new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 3, 2, -1));
    assertThat(engine.nextDeadlineNanos()).as("nothing more is due before the heartbeat").isEqualTo(heartbeatDue[0]);
  }

  @Test
  void shouldLetTheNextAppendCarryTheCommitInstead() {
    final long[] heartbeatDue = new long[1];
    final Engine engine = leaderThatJustCommitted(heartbeatDue);
    drain(engine);
    final long due = engine.nextDeadlineNanos();

    engine.handleClientWrite(new byte[] {7});
    engine.endBatch();
    assertThat(sends(drain(engine))).as("the write's appends carry commit index 2").containsExactly(
        new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 4, 2, 0),
        new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 4, 2, 0));

    engine.tick(due);
    assertThat(sends(drain(engine))).as("nothing left to tell at the linger's end").isEmpty();
  }

  @Test
  void shouldLeaveNoTimerBehindWhenALeaderStepsDownOnCommittingItsOwnRemoval() {
    // Found by the simulator: the handler that commits C(new) without this node steps down and
    // then still looked at the follower's progress, scheduling a commit-only append that a
    // learner's tick never clears; its next deadline stayed in the past and time stopped.
    final long[] heartbeatDue = new long[1];
    final Engine engine = leaderThatJustCommitted(heartbeatDue);
    drain(engine);
    engine.handleChangeMembership(new io.raftkit.api.ChangeMembers.RemoveVoters(java.util.Set.of(1L)), true, "c");
    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 3), 0);
    engine.handleAppendResponse(3, ack(1, 3), 0);
    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 4), 0);
    drain(engine);
    engine.handleAppendResponse(3, ack(1, 4), 0); // its last append in flight: none left after it
    final List<Command> out = drain(engine);
    assertThat(out).contains(new Command.Complete("c", LogId.of(1, 4)));
    assertThat(out).as("nothing sent after stepping down").noneMatch(c -> c instanceof Command.SendAppend);
    assertThat(engine.state()).isEqualTo(io.raftkit.api.ServerState.LEARNER);

    assertThat(engine.nextDeadlineNanos()).as("a learner has no timer").isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void shouldSendAtOnceWithoutALinger() {
    final Engine engine = node(1, THREE).buildLeader(1); // Engines' config: commitLinger 0
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);
    engine.endBatch();
    assertThat(sends(drain(engine))).containsExactly(
        new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 3, 2, -1),
        new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 3, 2, -1));
  }
}
