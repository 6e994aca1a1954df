package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.append;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.ReadIndexRequest;
import io.raftkit.api.message.ReadIndexResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reads on followers and learners: they ask the leader for a read index (thesis §6.4). */
class FollowerReadTest {
  private static final Membership THREE = members(1, 2, 3);

  /** Follower 2 of leader 1 in term 1, holding entries up to 3, committed 1. */
  private static Engine follower() {
    final Engine engine = node(2, THREE).build();
    engine.handleAppendRequest(1, append(1, 1, LogId.of(0, 1), 1, normal(1, 2), normal(1, 3)), "a");
    Engines.completeIo(engine);
    drain(engine);
    return engine;
  }

  @Test
  void shouldAskTheLeaderOnceForAllReadsOfABatchAndServeThemOnceAppliedUpToTheReadIndex() {
    final Engine engine = follower();
    engine.handleRead(ReadPolicy.READ_INDEX, "r1");
    engine.handleRead(ReadPolicy.LEASE, "r2");
    assertThat(drain(engine)).as("nothing before the batch ends").isEmpty();

    engine.endBatch();
    final List<Command> sent = drain(engine);
    assertThat(sent).containsExactly(new Command.SendReadIndex(1, new ReadIndexRequest(1, 2), 1));

    engine.handleReadIndexResponse(1, new ReadIndexResponse(1, true, 3, 0));
    assertThat(drain(engine)).as("applied only up to 1").isEmpty();

    engine.handleApplied(LogId.of(1, 2));
    assertThat(drain(engine)).as("applied up to 2 < read index 3").isEmpty();
    engine.handleApplied(LogId.of(1, 3));
    assertThat(drain(engine))
        .containsExactly(new Command.ReadReady("r1", LogId.of(1, 3)), new Command.ReadReady("r2", LogId.of(1, 3)));
  }

  @Test
  void shouldFailFollowerReadsWithTheLeaderHintWhenTheAskedNodeIsNotLeader() {
    final Engine engine = follower();
    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    engine.endBatch();
    drain(engine);

    engine.handleReadIndexResponse(1, new ReadIndexResponse(2, false, 0, 3));

    final Command.ReadFailed failed = (Command.ReadFailed) drain(engine).get(0);
    assertThat(failed.error()).isInstanceOf(NotLeaderException.class);
    assertThat(((NotLeaderException) failed.error()).leaderId()).isEqualTo(3);
  }

  @Test
  void shouldFailFollowerReadsWhenTheLeaderDoesNotAnswer() {
    final Engine engine = follower();
    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    engine.endBatch();
    drain(engine);

    engine.handleReadIndexFailure(1, "timed out");

    final Command.ReadFailed failed = (Command.ReadFailed) drain(engine).get(0);
    assertThat(failed.error()).isInstanceOf(UnreachableException.class).hasMessageContaining("timed out");
    engine.handleReadIndexResponse(1, new ReadIndexResponse(1, true, 3, 0));
    assertThat(drain(engine)).as("a late answer is ignored").isEmpty();
  }

  @Test
  void shouldAnswerAReadIndexRequestOnlyAfterAQuorumRoundSentAfterItArrived() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.endBatch();
    drain(engine);

    engine.handleReadIndexRequest(2, new ReadIndexRequest(1, 2), "req");
    engine.endBatch();
    drain(engine);
    // Round 1 (epoch -2): node 3 acknowledges; with the leader that is a quorum.
    engine.handleAppendResponse(3, ack(1, 0), -2);

    // The leader need not have applied: the follower waits for its own state machine.
    assertThat(drain(engine)).containsExactly(new Command.Reply("req", new ReadIndexResponse(1, true, 2, 0), 0));
  }

  @Test
  void shouldRefuseAReadIndexRequestOnANonLeaderNamingTheLeader() {
    final Engine engine = follower();

    engine.handleReadIndexRequest(3, new ReadIndexRequest(1, 3), "req");

    assertThat(drain(engine)).containsExactly(new Command.Reply("req", new ReadIndexResponse(1, false, 0, 1), 0));
  }

  @Test
  void shouldAnswerNoToPendingReadIndexRequestsWhenTheLeaderStepsDown() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.endBatch();
    drain(engine);
    engine.handleReadIndexRequest(2, new ReadIndexRequest(1, 2), "req");
    engine.endBatch();
    drain(engine);

    engine.handleAppendResponse(3, io.raftkit.api.message.AppendResponse.conflict(4, 0), 0);

    assertThat(drain(engine)).contains(new Command.Reply("req", new ReadIndexResponse(4, false, 0, 0), 0));
  }

  @Test
  void shouldRefuseAFollowerReadWhileItKnowsTheLeaderButNotItsAddress() {
    // A node that has no membership yet learns the leader from an append that does not match.
    final Engine engine = new Engine(2, Engines.config(), new java.util.SplittableRandom(1), io.raftkit.api.Vote.NONE,
        LogId.ZERO, LogId.ZERO, LogId.ZERO);
    engine.start(0);
    engine.handleAppendRequest(1, append(1, 1, LogId.of(1, 5), 0), "a");
    drain(engine);
    assertThat(engine.leaderId()).isEqualTo(1);

    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    engine.endBatch();

    final List<Command> out = drain(engine);
    assertThat(out).hasSize(1);
    assertThat(((Command.ReadFailed) out.get(0)).error()).isInstanceOf(NotLeaderException.class);
  }
}
