package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.error.LeadershipTransferException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Leadership transfer on a real cluster: to a live follower, and to a dead one. */
class LeadershipTransferClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldHandLeadershipToTheTargetWhichThenTakesWrites() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3, ReplicationClusterTest.STABLE).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS);
      final long target = leader.nodeId() % 3 + 1;

      leader.trigger().transferLeader(target).get(30, TimeUnit.SECONDS);

      // With 2-4 s election timeouts, only the transfer can explain a new leader this soon.
      final RaftMetrics m = cluster.node(target).awaitMetrics(RaftMetrics::isLeader, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(m.currentTerm()).isEqualTo(leader.metrics().currentTerm());
      // The transfer completed because the old leader follows the target: its metrics say so.
      assertThat(leader.metrics().currentLeader()).isEqualTo(target);
      assertThat(cluster.node(target).write(new byte[] {2}).get(30, TimeUnit.SECONDS).response()).isEqualTo(2L);
    }
  }

  @Test
  void shouldFailATransferToADeadNodeInBoundedTimeAndResume() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3, ReplicationClusterTest.STABLE).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS);
      final long target = leader.nodeId() % 3 + 1;
      cluster.stop(target);
      leader.write(new byte[] {2}).get(30, TimeUnit.SECONDS);

      try {
        leader.trigger().transferLeader(target).get(30, TimeUnit.SECONDS);
        throw new AssertionError("a transfer to a stopped node completed");
      } catch (final ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(LeadershipTransferException.class)
            .hasMessageContaining("did not complete within");
      }
      assertThat(leader.metrics().isLeader()).isTrue();
      assertThat(leader.write(new byte[] {3}).get(30, TimeUnit.SECONDS).response()).isEqualTo(3L);
    }
  }
}
