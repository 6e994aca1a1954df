package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.ServerState;
import io.raftkit.api.error.LeaseExpiredException;
import io.raftkit.api.error.NotLeaderException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Linearizable reads, triggers and runtime switches on a real cluster. */
class ReadAndTriggerClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldReturnAReadIndexCoveringEveryAcknowledgedWriteOnceApplied() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long written = leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS).logId().index();
      for (final ReadPolicy policy : ReadPolicy.values()) {
        final LogId index = readUntilLeaseHolds(leader, policy);
        assertThat(index.index()).as("%s read index", policy).isGreaterThanOrEqualTo(written);
        assertThat(cluster.stateMachine(leader.nodeId()).lastApplied().index()).isGreaterThanOrEqualTo(index.index());
      }
      // A follower asks the leader for the read index and answers once it has applied it.
      final long follower = leader.nodeId() % 3 + 1;
      cluster.node(follower).awaitMetrics(m -> m.currentLeader() == leader.nodeId() && !m.membership().isEmpty(), TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(cluster.node(follower).ensureLinearizable(ReadPolicy.READ_INDEX).get(30, TimeUnit.SECONDS).index())
          .isGreaterThanOrEqualTo(written);
      assertThat(cluster.stateMachine(follower).appliedCount()).isEqualTo(1);
    }
  }

  /** A new leader has a lease only after its first heartbeat round is acknowledged. */
  private static LogId readUntilLeaseHolds(final Raft<Long> leader, final ReadPolicy policy) throws Exception {
    final long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      try {
        return leader.ensureLinearizable(policy).get(30, TimeUnit.SECONDS);
      } catch (final ExecutionException e) {
        if (!(e.getCause() instanceof LeaseExpiredException) || System.nanoTime() > deadline) {
          throw e;
        }
        leader.trigger().heartbeat().get(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void shouldRefuseLeaseReadsOfALeaderCutOffPastItsLease() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      readUntilLeaseHolds(leader, ReadPolicy.LEASE);

      cluster.network().isolate(leader.nodeId());
      // Without acknowledgements the lease runs out (and CheckQuorum later deposes the leader):
      // from then on every lease read is refused, and none is served stale.
      final long deadline = System.nanoTime() + TIMEOUT.toNanos();
      Throwable refused = null;
      while (refused == null) {
        assertThat(System.nanoTime()).as("a lease read was refused in time").isLessThan(deadline);
        try {
          leader.ensureLinearizable(ReadPolicy.LEASE).get(30, TimeUnit.SECONDS);
        } catch (final ExecutionException e) {
          refused = e.getCause();
        }
      }
      assertThat(refused).isInstanceOfAny(LeaseExpiredException.class, NotLeaderException.class);
      // A read-index read on the cut-off leader can never be confirmed: it fails once it steps down.
      assertThat(failureOf(leader.ensureLinearizable(ReadPolicy.READ_INDEX))).isInstanceOf(NotLeaderException.class);
    }
  }

  @Test
  void shouldElectOnlyWhenTriggeredWhileElectionTimersAreOff() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      for (final long id : cluster.nodeIds()) {
        cluster.node(id).runtimeConfig().elect(false);
      }
      cluster.initialize();
      // Node 1 holds the membership but, with its timer off, does not campaign by itself.
      cluster.node(1).awaitMetrics(m -> !m.membership().isEmpty(), TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(cluster.node(1).metrics().currentTerm()).isZero();

      cluster.node(1).trigger().elect().get(30, TimeUnit.SECONDS);
      final RaftMetrics m = cluster.node(1).awaitMetrics(RaftMetrics::isLeader, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(m.currentTerm()).isEqualTo(1);
      assertThat(cluster.node(1).write(new byte[] {5}).get(30, TimeUnit.SECONDS).response()).isEqualTo(1L);
      cluster.awaitAll(x -> x.currentLeader() == 1 && x.currentTerm() == 1, "follow node 1 in term 1", TIMEOUT);
      cluster.node(1).trigger().heartbeat().get(30, TimeUnit.SECONDS);
      assertThat(failureOf(cluster.node(2).trigger().heartbeat())).isInstanceOf(NotLeaderException.class);
    }
  }

  @Test
  void shouldLoseLeadershipWhenItsHeartbeatsAreTurnedOff() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long term = leader.metrics().currentTerm();
      leader.runtimeConfig().heartbeat(false);
      final RaftMetrics after = leader.awaitMetrics(x -> x.currentTerm() > term, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(after.state()).isNotEqualTo(ServerState.SHUTDOWN);
      assertThat(cluster.awaitLeader(TIMEOUT).nodeId()).isNotEqualTo(leader.nodeId());
    }
  }

  @Test
  void shouldReportLagQuorumAckAndChangesToSubscribers() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final java.util.concurrent.CopyOnWriteArrayList<RaftMetrics> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
      try (AutoCloseable subscription = leader.subscribe(seen::add)) {
        final long index = leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS).logId().index();
        leader.awaitApplied(index, TIMEOUT).get(30, TimeUnit.SECONDS);
        final RaftMetrics m = leader.awaitMetrics(x -> x.quorumAckNanos() != 0
            && x.replication().values().stream().allMatch(v -> v >= index), TIMEOUT).get(30, TimeUnit.SECONDS);
        for (final long id : cluster.nodeIds()) {
          if (id != leader.nodeId()) {
            assertThat(m.lag(id)).as("lag of node %d", id).isZero();
          }
        }
        assertThat(m.millisSinceQuorumAck()).isBetween(0L, 60_000L);
        assertThat(m.isJoint()).isFalse();
        assertThat(seen).as("snapshots pushed to the subscriber").isNotEmpty();
        assertThat(seen).anyMatch(x -> x.lastApplied().index() >= index);
      }
      final long follower = leader.nodeId() % 3 + 1;
      assertThat(cluster.node(follower).metrics().lag(leader.nodeId())).isEqualTo(-1);
      assertThat(cluster.node(follower).metrics().millisSinceQuorumAck()).isEqualTo(-1);
    }
  }

  private static Throwable failureOf(final CompletableFuture<?> f) throws Exception {
    try {
      f.get(30, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure but got a result");
    } catch (final ExecutionException e) {
      return e.getCause();
    }
  }
}
