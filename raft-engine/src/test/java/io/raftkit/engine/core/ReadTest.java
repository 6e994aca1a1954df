package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ELECTION_MIN;
import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.error.LeaseExpiredException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.message.AppendResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Linearizable reads (thesis §6.4): ReadIndex confirmed by a heartbeat round, and lease reads. */
class ReadTest {
  private static final Membership THREE = members(1, 2, 3);

  /** A leader of term 1 whose blank (index 2) is committed and applied; nothing pending. */
  private static Engine leader() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleApplied(LogId.of(1, 2));
    engine.endBatch();
    drain(engine);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    return engine;
  }

  private static AppendResponse heartbeatAck(final long matchIndex) {
    return AppendResponse.success(1, matchIndex);
  }

  @Test
  void shouldConfirmConcurrentReadsWithOneHeartbeatRoundAcknowledgedByAQuorum() {
    final Engine engine = leader();
    engine.handleRead(ReadPolicy.READ_INDEX, "r1");
    engine.handleRead(ReadPolicy.READ_INDEX, "r2");
    assertThat(drain(engine)).as("nothing before the round").isEmpty();

    engine.endBatch();
    // One round (round 1, epoch -2) for both reads.
    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 3, 2, -2),
            new Command.SendAppend(3, 1, LogId.ZERO, 1, 1, 2, -2));

    engine.handleAppendResponse(3, heartbeatAck(0), -2);

    assertThat(drain(engine))
        .containsExactly(new Command.ReadReady("r1", LogId.of(1, 2)), new Command.ReadReady("r2", LogId.of(1, 2)));
  }

  @Test
  void shouldNotConfirmAReadWithAnAckOfAnEarlierRound() {
    final Engine engine = leader();
    engine.handleTriggerHeartbeat(); // round 1
    drain(engine);
    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    engine.endBatch(); // round 2
    drain(engine);

    // The answer to round 1 was sent before the read arrived: it proves nothing about it.
    engine.handleAppendResponse(2, heartbeatAck(2), -2);
    assertThat(drain(engine)).isEmpty();

    engine.handleAppendResponse(2, heartbeatAck(2), -3);
    assertThat(drain(engine)).containsExactly(new Command.ReadReady("r", LogId.of(1, 2)));
  }

  @Test
  void shouldWaitForTheStateMachineToApplyTheReadIndex() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.endBatch();
    drain(engine);
    // Committed up to 2 but not applied yet.
    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    engine.endBatch();
    drain(engine);
    engine.handleAppendResponse(2, heartbeatAck(2), -2);
    assertThat(drain(engine)).isEmpty();

    engine.handleApplied(LogId.of(1, 2));

    assertThat(drain(engine)).containsExactly(new Command.ReadReady("r", LogId.of(1, 2)));
  }

  @Test
  void shouldRefuseReadsOnAFollowerThatKnowsNoLeader() {
    final Engine engine = node(2, THREE).build();
    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    final List<Command> out = drain(engine);
    assertThat(out).hasSize(1);
    assertThat(((Command.ReadFailed) out.get(0)).error()).isInstanceOf(NotLeaderException.class);
  }

  @Test
  void shouldFailPendingReadsWhenTheLeaderStepsDown() {
    final Engine engine = leader();
    engine.handleRead(ReadPolicy.READ_INDEX, "r");
    engine.endBatch();
    drain(engine);

    engine.handleAppendResponse(2, AppendResponse.conflict(5, 0), 0);

    final List<Command> out = drain(engine);
    assertThat(out).filteredOn(c -> c instanceof Command.ReadFailed).hasSize(1);
    assertThat(((Command.ReadFailed) out.stream().filter(c -> c instanceof Command.ReadFailed).findFirst()
        .orElseThrow()).error()).isInstanceOf(NotLeaderException.class);
  }

  @Test
  void shouldServeALeaseReadWithoutARoundOnlyWhileAQuorumAckedRecently() {
    final Engine engine = leader();
    final long t0 = engine.nextDeadlineNanos() - Engines.HEARTBEAT;

    // No round acknowledged yet: no lease.
    engine.handleRead(ReadPolicy.LEASE, "early");
    assertThat(((Command.ReadFailed) drain(engine).get(0)).error())
        .isInstanceOf(LeaseExpiredException.class)
        .hasMessageContaining("no quorum acknowledged a heartbeat");

    engine.tick(t0);
    engine.handleTriggerHeartbeat();
    drain(engine);
    engine.handleAppendResponse(2, heartbeatAck(2), -2);
    drain(engine);

    engine.handleRead(ReadPolicy.LEASE, "fresh");
    assertThat(drain(engine)).containsExactly(new Command.ReadReady("fresh", LogId.of(1, 2)));

    // 90 % of the minimum election timeout after the round was sent, the lease is over.
    engine.tick(t0 + ELECTION_MIN * 9 / 10);
    drain(engine);
    engine.handleRead(ReadPolicy.LEASE, "late");
    assertThat(drain(engine)).filteredOn(c -> c instanceof Command.ReadFailed).hasSize(1);
  }

  @Test
  void shouldRefuseLeaseReadsWithoutCheckQuorum() {
    final Engine engine = node(1, THREE).config(Engines.configBuilder().checkQuorum(false).build()).buildLeader(1);
    engine.handleTriggerHeartbeat();
    drain(engine);
    engine.handleAppendResponse(2, heartbeatAck(1), -2);
    drain(engine);

    engine.handleRead(ReadPolicy.LEASE, "r");

    assertThat(((Command.ReadFailed) drain(engine).get(0)).error())
        .isInstanceOf(LeaseExpiredException.class)
        .hasMessageContaining("checkQuorum=true");
  }

  @Test
  void shouldServeReadsOfASingleNodeClusterAtOnce() {
    final Engine engine = node(1, members(1)).buildLeader(1);
    engine.handleApplied(engine.committed());
    drain(engine);

    engine.handleRead(ReadPolicy.LEASE, "lease");
    engine.handleRead(ReadPolicy.READ_INDEX, "index");
    engine.endBatch();

    assertThat(drain(engine))
        .containsExactly(
            new Command.ReadReady("lease", LogId.of(1, 2)), new Command.ReadReady("index", LogId.of(1, 2)));
  }
}
