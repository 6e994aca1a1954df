package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.UnreachableException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Linearizable reads served by followers and learners, which ask the leader for a read index. */
class FollowerReadClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldServeAReadOnAFollowerOnlyAfterItAppliedEveryWriteAcknowledgedBeforeTheRead() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long followerId = cluster.nodeIds().stream().filter(id -> id != leader.nodeId()).findFirst().orElseThrow();
      final Raft<Long> follower = cluster.node(followerId);
      follower.awaitMetrics(m -> m.currentLeader() == leader.nodeId() && !m.membership().isEmpty(), TIMEOUT).get(30, TimeUnit.SECONDS);
      // Slow the follower's log down so that it lags what the leader acknowledged.
      cluster.network().delay(leader.nodeId(), followerId, Duration.ofMillis(30));
      for (int round = 0; round < 20; round++) {
        final WriteResult<Long> acked = leader.write(new byte[] {(byte) round}).get(30, TimeUnit.SECONDS);

        final LogId readIndex = follower.ensureLinearizable(ReadPolicy.READ_INDEX).get(30, TimeUnit.SECONDS);

        assertThat(readIndex.index()).as("round %d", round).isGreaterThanOrEqualTo(acked.logId().index());
        assertThat(cluster.stateMachine(followerId).progress().lastApplied().index())
            .as("the follower's state machine when its read completed").isGreaterThanOrEqualTo(readIndex.index());
        assertThat(cluster.stateMachine(followerId).appliedCount()).isGreaterThanOrEqualTo(round + 1);
      }
    }
  }

  @Test
  void shouldServeAReadOnALearner() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(4)) {
      for (long id = 1; id <= 4; id++) {
        cluster.start(id);
      }
      cluster.initialize(List.of(1L, 2L, 3L));
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      leader.awaitMetrics(m -> m.committed().term() == m.currentTerm(), TIMEOUT).get(30, TimeUnit.SECONDS);
      leader.addLearner(4, cluster.address(4), true).get(30, TimeUnit.SECONDS);
      final WriteResult<Long> acked = leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS);

      final LogId readIndex = cluster.node(4).ensureLinearizable(ReadPolicy.LEASE).get(30, TimeUnit.SECONDS);

      assertThat(readIndex.index()).isGreaterThanOrEqualTo(acked.logId().index());
      assertThat(cluster.stateMachine(4).appliedCount()).isEqualTo(1);
    }
  }

  @Test
  void shouldRefuseAReadOnAFollowerCutOffFromTheLeader() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long followerId = cluster.nodeIds().stream().filter(id -> id != leader.nodeId()).findFirst().orElseThrow();
      final Raft<Long> follower = cluster.node(followerId);
      follower.awaitMetrics(m -> m.currentLeader() == leader.nodeId() && !m.membership().isEmpty(), TIMEOUT).get(30, TimeUnit.SECONDS);
      cluster.network().cut(followerId, leader.nodeId());

      assertThatThrownBy(() -> follower.ensureLinearizable(ReadPolicy.READ_INDEX).get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .satisfies(e -> assertThat(e.getCause()).isInstanceOfAny(UnreachableException.class, NotLeaderException.class));
    }
  }
}
