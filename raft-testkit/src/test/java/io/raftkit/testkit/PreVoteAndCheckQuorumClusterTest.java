package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ServerState;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * PreVote (thesis §9.6) and CheckQuorum (thesis §6.2) on a real cluster: an isolated node does not
 * inflate its term and does not disturb the leader when it returns; a leader cut off from every
 * follower steps down by itself.
 */
class PreVoteAndCheckQuorumClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldRejoinAfterManyElectionTimeoutsWithoutRaisingTheTermOrDisturbingTheLeader() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long term = leader.metrics().currentTerm();
      final long isolated = leader.nodeId() % 3 + 1;
      final Raft<Long> loner = cluster.node(isolated);
      // It must hold the membership (its log's first entry) to know it is a voter and campaign.
      loner.awaitMetrics(m -> m.currentLeader() == leader.nodeId() && !m.membership().isEmpty(), TIMEOUT)
          .get(30, TimeUnit.SECONDS);

      cluster.network().isolate(isolated);
      // Let the loner go through many election timeouts (300 ms max each): it must campaign,
      // and, without a quorum of pre-votes, stay at the leader's term.
      final long writes = 60;
      long last = 0;
      for (int i = 0; i < writes; i++) {
        last = leader.write(new byte[] {(byte) i}).get(30, TimeUnit.SECONDS).logId().index();
      }
      final long lastWrite = last;
      // Keep writing until the loner has campaigned at least 10 times (2 peers per pre-vote round).
      final long before = cluster.network().droppedFrom(isolated);
      final long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (cluster.network().droppedFrom(isolated) - before < 20) {
        assertThat(System.nanoTime() - deadline).as("the loner campaigned 10 times in time").isNegative();
        last = leader.write(new byte[] {7}).get(30, TimeUnit.SECONDS).logId().index();
      }
      assertThat(loner.metrics().currentTerm()).as("the isolated node's term").isEqualTo(term);

      cluster.network().heal();
      final long finalIndex = last;
      loner.awaitMetrics(m -> m.lastApplied().index() >= finalIndex, TIMEOUT).get(30, TimeUnit.SECONDS);
      final RaftMetrics after = leader.metrics();
      assertThat(after.state()).isEqualTo(ServerState.LEADER);
      assertThat(after.currentTerm()).as("the leader's term after the rejoin").isEqualTo(term);
      assertThat(loner.metrics().currentTerm()).isEqualTo(term);
      assertThat(lastWrite).isPositive();
    }
  }

  @Test
  void shouldStepDownALeaderThatHearsFromNoFollower() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      cluster.network().isolate(leader.nodeId());
      final RaftMetrics m = leader.awaitMetrics(x -> x.state() != ServerState.LEADER, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(m.state()).isIn(ServerState.FOLLOWER, ServerState.CANDIDATE);
      assertThat(m.currentLeader()).isNotEqualTo(leader.nodeId());
    }
  }
}
