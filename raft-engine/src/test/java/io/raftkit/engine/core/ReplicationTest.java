package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.HEARTBEAT;
import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.completeIo;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static io.raftkit.engine.core.Engines.sized;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The leader's side of log replication (§5.3): {@link Engine#handleAppendResponse}, {@link
 * Engine#handleAppendFailure}, {@link Engine#endBatch} and heartbeats on {@link Engine#tick}.
 */
class ReplicationTest {
  private static final Membership THREE = members(1, 2, 3);

  /**
   * Leader 1 of term 2 whose log is (0,1) (1,2) (1,3) (1,4) (2,5: blank), durable, at time {@code
   * now}. Followers 2 and 3 each have the blank in flight (probe, epoch 0).
   */
  private static Engine leaderWithLongerLog(final Config config) {
    return node(1, THREE).config(config).log(normal(1, 2), normal(1, 3), normal(1, 4)).buildLeader(2);
  }

  /** A leader of term 1 whose followers acked the blank (1,2): both in pipeline mode, commit 2. */
  private static Engine leaderInPipeline(final Config config) {
    final Engine engine = node(1, THREE).config(config).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);
    drain(engine);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    return engine;
  }

  private static void write(final Engine engine, final int count, final int payloadBytes) {
    for (int i = 0; i < count; i++) {
      engine.handleClientWrite(new byte[payloadBytes]);
    }
  }

  @Test
  void shouldResetNextIndexToTheConflictHintAndProbe() {
    // §5.3: "After a rejection, the leader decrements nextIndex and retries"; with the follower's
    // hint it jumps straight to the index the follower needs, and sends one append at a time.
    final Engine engine = leaderWithLongerLog(Engines.config());

    engine.handleAppendResponse(2, AppendResponse.conflict(2, 3), 0);

    assertThat(drain(engine))
        .containsExactly(new Command.SendAppend(2, 2, LogId.of(1, 2), 3, 6, 0, 1));
    assertThat(engine.replication()).isEqualTo(Map.of(2L, 0L, 3L, 0L));
  }

  @Test
  void shouldNotResetNextIndexBelowTheMatchIndex() {
    final Engine engine = leaderInPipeline(Engines.config());
    write(engine, 1, 1);
    engine.endBatch();
    drain(engine);

    engine.handleAppendResponse(2, AppendResponse.conflict(1, 1), 0);

    // Index 2 is known to match: the retry starts after it, whatever the hint says.
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 4, 2, 1));
  }

  @Test
  void shouldNotResetNextIndexAboveTheLastIndexPlusOne() {
    final Engine engine = leaderWithLongerLog(Engines.config());

    engine.handleAppendResponse(2, AppendResponse.conflict(2, 99), 0);

    assertThat(drain(engine)).isEmpty();
    engine.handleClientWrite(new byte[1]);
    drain(engine);
    engine.endBatch();
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 2, LogId.of(2, 5), 6, 7, 0, 1));
  }

  @Test
  void shouldKeepOneAppendInFlightInProbeMode() {
    final Config oneEntry = Engines.configBuilder().maxEntriesPerAppend(1).build();
    final Engine engine = leaderWithLongerLog(oneEntry);
    engine.handleAppendResponse(2, AppendResponse.conflict(2, 2), 0);
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 2, LogId.of(0, 1), 2, 3, 0, 1));

    engine.handleClientWrite(new byte[1]);
    engine.endBatch();

    assertThat(drain(engine))
        .extracting(Command::kind)
        .containsExactly(Command.Kind.APPEND_ENTRIES);
  }

  @Test
  void shouldPipelineUpToMaxInflightAppendsAfterASuccess() {
    // After the first success the leader streams appends without waiting (3 in flight here).
    final Config oneEntry = Engines.configBuilder().maxEntriesPerAppend(1).build();
    final Engine engine = leaderWithLongerLog(oneEntry);
    engine.handleAppendResponse(2, AppendResponse.conflict(2, 2), 0);
    drain(engine);

    engine.handleAppendResponse(2, ack(2, 2), 1);

    // Matched up to 2: three appends of one entry each, still carrying commit 0.
    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 2, LogId.of(1, 2), 3, 4, 0, 1),
            new Command.SendAppend(2, 2, LogId.of(1, 3), 4, 5, 0, 1),
            new Command.SendAppend(2, 2, LogId.of(1, 4), 5, 6, 0, 1));
    assertThat(engine.replication()).isEqualTo(Map.of(2L, 2L, 3L, 0L));

    // One comes back: one more slot, but nothing more to send.
    engine.handleAppendResponse(2, ack(2, 3), 1);
    assertThat(drain(engine)).isEmpty();

    write(engine, 2, 1);
    engine.endBatch();
    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(sized(2, 6, 1), sized(2, 7, 1)), engine.ioSeq()),
            new Command.SendAppend(2, 2, LogId.of(2, 5), 6, 7, 0, 1));
  }

  @Test
  void shouldBoundEachAppendByMaxEntriesPerAppend() {
    final Config config = Engines.configBuilder().maxEntriesPerAppend(3).maxBytesPerAppend(1000).build();
    final Engine engine = leaderInPipeline(config);

    write(engine, 7, 10);
    drain(engine);
    engine.endBatch();

    final List<Command> commands = drain(engine);
    assertThat(commands)
        .filteredOn(c -> ((Command.SendAppend) c).target() == 2)
        .containsExactly(
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 6, 2, 0),
            new Command.SendAppend(2, 1, LogId.of(1, 5), 6, 9, 2, 0),
            new Command.SendAppend(2, 1, LogId.of(1, 8), 9, 10, 2, 0));
    assertThat(commands).hasSize(6);
  }

  @Test
  void shouldBoundEachAppendByMaxBytesPerAppendButSendAtLeastOneEntry() {
    final Config config = Engines.configBuilder().maxEntriesPerAppend(10).maxBytesPerAppend(100).build();
    final Engine engine = leaderInPipeline(config);
    engine.handleClientWrite(new byte[60]); // 3
    engine.handleClientWrite(new byte[60]); // 4: 120 >= 100 ends the first append
    engine.handleClientWrite(new byte[250]); // 5: too big alone, still sent alone
    engine.handleClientWrite(new byte[30]); // 6
    drain(engine);

    engine.endBatch();

    assertThat(drain(engine))
        .filteredOn(c -> ((Command.SendAppend) c).target() == 3)
        .containsExactly(
            new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 5, 2, 0),
            new Command.SendAppend(3, 1, LogId.of(1, 4), 5, 6, 2, 0),
            new Command.SendAppend(3, 1, LogId.of(1, 5), 6, 7, 2, 0));
  }

  @Test
  void shouldBackOffAfterAnAppendFailureUntilTheNextHeartbeat() {
    final Engine engine = leaderInPipeline(Engines.config());
    final long now = engine.nextDeadlineNanos() - HEARTBEAT; // the time the leader was elected
    write(engine, 1, 1);
    engine.endBatch();
    drain(engine);

    engine.handleAppendFailure(2, 0);

    assertThat(drain(engine)).isEmpty();

    // New writes go to node 3 only while node 2 backs off.
    write(engine, 1, 1);
    engine.endBatch();
    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(sized(1, 4, 1)), engine.ioSeq()),
            new Command.SendAppend(3, 1, LogId.of(1, 3), 4, 5, 2, 0));

    // At the heartbeat the back-off is over: a round of heartbeats (the first, round 1, carried
    // as epoch -2), then one probing append from the match.
    engine.tick(now + HEARTBEAT);
    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 3, 2, -2),
            new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 3, 2, -2),
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 5, 2, 1));
  }

  @Test
  void shouldIgnoreAFailureOfAnEarlierEpochOrOfAHeartbeat() {
    final Engine engine = leaderInPipeline(Engines.config());
    write(engine, 1, 1);
    engine.endBatch();
    drain(engine);
    engine.handleAppendResponse(2, AppendResponse.conflict(1, 3), 0); // epoch 1 now
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 4, 2, 1));

    engine.handleAppendFailure(2, 0);
    engine.handleAppendFailure(2, -1);
    write(engine, 1, 1);
    drain(engine);
    engine.endBatch();

    // Not backing off; in probe mode with one append in flight, so nothing more to node 2.
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(3, 1, LogId.of(1, 3), 4, 5, 2, 0));
  }

  @Test
  void shouldNotOpenTheWindowOnAResponseOfAnEarlierEpoch() {
    // Responses to abandoned appends still raise the match index but free no slot.
    final Config oneEntry = Engines.configBuilder().maxEntriesPerAppend(1).build();
    final Engine engine = leaderInPipeline(oneEntry);
    write(engine, 3, 1);
    drain(engine);
    engine.endBatch();
    drain(engine); // node 2 and 3: [3,4) [4,5) [5,6) in flight, epoch 0

    // [4,5) arrived first and was refused: back to probing from 3 in epoch 1.
    engine.handleAppendResponse(2, AppendResponse.conflict(1, 3), 0);
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 4, 2, 1));

    // [3,4) of epoch 0 then succeeds: the match index moves, the probe stays alone in flight.
    engine.handleAppendResponse(2, ack(1, 3), 0);

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.replication()).containsEntry(2L, 3L);

    // The probe's own success opens the pipeline again.
    engine.handleAppendResponse(2, ack(1, 3), 1);
    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 1, LogId.of(1, 3), 4, 5, 2, 1),
            new Command.SendAppend(2, 1, LogId.of(1, 4), 5, 6, 2, 1));
  }

  @Test
  void shouldSendHeartbeatsAtTheHeartbeatIntervalWithTheMatchedIdAndTheirRound() {
    // §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries)".
    final Engine engine = leaderInPipeline(Engines.config());
    final long hb = engine.nextDeadlineNanos();

    engine.tick(hb - 1);
    assertThat(drain(engine)).isEmpty();

    engine.tick(hb);

    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 3, 2, -2),
            new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 3, 2, -2));
    assertThat(engine.nextDeadlineNanos()).isEqualTo(hb + HEARTBEAT);
    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
  }

  @Test
  void shouldSendHeartbeatsFromTheStartOfTheLogToUnmatchedFollowers() {
    final Engine engine = leaderWithLongerLog(Engines.config());

    engine.tick(engine.nextDeadlineNanos());

    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 2, LogId.ZERO, 1, 1, 0, -2),
            new Command.SendAppend(3, 2, LogId.ZERO, 1, 1, 0, -2));
  }

  @Test
  void shouldNotFreeAnAppendSlotOnAHeartbeatResponse() {
    final Engine engine = leaderWithLongerLog(Engines.config());
    engine.tick(engine.nextDeadlineNanos());
    drain(engine);

    engine.handleAppendResponse(2, ack(2, 0), -1);

    // Nothing new: the blank append (epoch 0) is still in flight.
    assertThat(drain(engine)).isEmpty();
    assertThat(engine.replication()).isEqualTo(Map.of(2L, 0L, 3L, 0L));
  }

  @Test
  void shouldSendTheNewCommitIndexToAnIdleFollower() {
    // §5.3: followers learn the commit index from later AppendEntries (heartbeats included).
    final Engine engine = node(1, THREE).buildLeader(1);

    engine.handleAppendResponse(2, ack(1, 2), 0);

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveCommitted(LogId.of(1, 2)),
            new Command.Apply(LogId.of(1, 2)),
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 3, 2, -1));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));

    // Node 3's blank is still in flight: it will get the commit with the next append or heartbeat.
    engine.endBatch();
    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldIgnoreResponsesOfAnotherTermOrFromUnknownNodes() {
    final Engine engine = node(1, THREE).buildLeader(2);

    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(9, ack(2, 2), 0);

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.replication()).isEqualTo(Map.of(2L, 0L, 3L, 0L));
  }

  @Test
  void shouldStepDownAndSaveTheTermOnAnAppendResponseWithAHigherTerm() {
    // §5.1: "If RPC request or response contains term T > currentTerm: set currentTerm = T,
    // convert to follower".
    final Engine engine = node(1, THREE).buildLeader(2);
    final long seq = engine.ioSeq();

    engine.handleAppendResponse(3, AppendResponse.conflict(3, 0), 0);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveVote(new Vote(3, 0, false), seq + 1));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.vote()).isEqualTo(new Vote(3, 0, false));
    assertThat(engine.leaderId()).isZero();
    assertThat(engine.replication()).isEmpty();
  }

  @Test
  void shouldCapTheMatchIndexAtItsOwnLastIndex() {
    final Engine engine = node(1, THREE).buildLeader(1, false);

    engine.handleAppendResponse(2, ack(1, 50), 0);
    completeIo(engine);

    assertThat(engine.replication()).containsEntry(2L, 2L);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
  }
}
