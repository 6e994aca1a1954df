package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.NotLeaderException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Leader loss and partitions on real clusters: safety (nothing acknowledged lost) and liveness. */
class FailoverClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldElectANewLeaderWhenTheLeaderStopsAndCatchTheOldOneUpWhenItReturns() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> first = cluster.awaitLeader(TIMEOUT);
      final long firstTerm = first.metrics().currentTerm();
      writeAll(cluster, 100);

      cluster.stop(first.nodeId());
      final Raft<Long> second = cluster.awaitLeader(TIMEOUT);
      assertThat(second.nodeId()).isNotEqualTo(first.nodeId());
      assertThat(second.metrics().currentTerm()).isGreaterThan(firstTerm);
      final long last = writeAll(cluster, 100);

      cluster.start(first.nodeId());
      cluster.awaitApplied(last, TIMEOUT);
      final LogId leaderLast = cluster.awaitLeader(TIMEOUT).metrics().lastLogId();
      cluster.awaitAll(m -> m.lastApplied().index() >= leaderLast.index(), "applied " + leaderLast, TIMEOUT);
      assertDigestsEqual(cluster, 200);
    }
  }

  @Test
  void shouldNeverAcknowledgeWritesOfALeaderCutOffInAMinorityAndConvergeAfterHealing() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(5).start()) {
      cluster.initialize();
      final Raft<Long> old = cluster.awaitLeader(TIMEOUT);
      final long oldTerm = old.metrics().currentTerm();
      writeAll(cluster, 20);

      // Minority: the leader and one follower. Majority: the three others.
      final long buddy = old.nodeId() % 5 + 1;
      final List<Long> minority = List.of(old.nodeId(), buddy);
      final List<Long> majority = new ArrayList<>(cluster.nodeIds());
      majority.removeAll(minority);
      for (final long a : minority) {
        for (final long b : majority) {
          cluster.network().cutBoth(a, b);
        }
      }
      final List<CompletableFuture<WriteResult<Long>>> cutOff = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        cutOff.add(old.write(new byte[] {(byte) i, 7}));
      }

      // The majority elects a leader of a higher term and commits.
      final Raft<Long> fresh = awaitLeaderAmong(cluster, majority, oldTerm);
      final long freshIndex = fresh.write(new byte[] {1, 2, 3}).get(30, TimeUnit.SECONDS).logId().index();
      for (final long id : majority) {
        cluster.node(id).awaitMetrics(m -> m.lastApplied().index() >= freshIndex, TIMEOUT).get(30, TimeUnit.SECONDS);
      }
      for (final CompletableFuture<WriteResult<Long>> f : cutOff) {
        assertThat(f.isDone() && !f.isCompletedExceptionally())
            .as("a write to the cut-off leader was acknowledged: %s", f).isFalse();
      }

      cluster.network().heal();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long last = leader.write(new byte[] {9}).get(30, TimeUnit.SECONDS).logId().index();
      final LogId leaderLast = leader.metrics().lastLogId();
      cluster.awaitAll(m -> m.lastLogId().equals(leaderLast) && m.lastApplied().equals(leaderLast),
          "log and state at " + leaderLast, TIMEOUT);
      assertThat(last).isLessThanOrEqualTo(leaderLast.index());
      // The cut-off writes were overwritten by the new leader's log: every one fails.
      for (final CompletableFuture<WriteResult<Long>> f : cutOff) {
        final Throwable cause = failureOf(f);
        assertThat(cause).as("outcome of a cut-off write").isInstanceOf(NotLeaderException.class);
      }
      final Set<Long> digests = new HashSet<>();
      for (final long id : cluster.nodeIds()) {
        digests.add(cluster.stateMachine(id).digest());
      }
      assertThat(digests).as("digests: %s", cluster.describe()).hasSize(1);
      // 20 writes before the cut, one on the new leader, one after healing; none of the cut-off ones.
      assertThat(cluster.stateMachine(old.nodeId()).appliedCount())
          .isEqualTo(cluster.stateMachine(leader.nodeId()).appliedCount())
          .isGreaterThanOrEqualTo(22);
    }
  }

  private static Throwable failureOf(final CompletableFuture<?> f) throws InterruptedException, TimeoutException {
    try {
      f.get(30, TimeUnit.SECONDS);
      return null;
    } catch (final ExecutionException e) {
      return e.getCause();
    }
  }

  private static Raft<Long> awaitLeaderAmong(final TestCluster cluster, final List<Long> ids, final long aboveTerm)
      throws Exception {
    final List<CompletableFuture<?>> waits = new ArrayList<>();
    for (final long id : ids) {
      waits.add(cluster.node(id).awaitMetrics(m -> m.isLeader() && m.currentTerm() > aboveTerm, TIMEOUT));
    }
    CompletableFuture.anyOf(waits.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    for (final long id : ids) {
      final Raft<Long> raft = cluster.node(id);
      if (raft.metrics().isLeader() && raft.metrics().currentTerm() > aboveTerm) {
        return raft;
      }
    }
    throw new AssertionError("a leader was elected and lost again at once: " + cluster.describe());
  }

  /** Writes {@code n} commands through the current leader, retrying on a leader change. */
  private static long writeAll(final TestCluster cluster, final int n) throws Exception {
    long last = 0;
    for (int i = 0; i < n; i++) {
      final byte[] command = {(byte) i, (byte) (i >> 8), 1};
      while (true) {
        final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
        try {
          last = leader.write(command).get(30, TimeUnit.SECONDS).logId().index();
          break;
        } catch (final ExecutionException e) {
          if (!(e.getCause() instanceof NotLeaderException)) {
            throw e;
          }
          // The leader changed under us; its entry may or may not commit. Count only acks below.
        }
      }
    }
    return last;
  }

  private static void assertDigestsEqual(final TestCluster cluster, final long minApplied) {
    final Set<Long> digests = new HashSet<>();
    for (final long id : cluster.nodeIds()) {
      final DigestStateMachine sm = cluster.stateMachine(id);
      assertThat(sm.appliedCount()).as("writes applied on node %d", id).isGreaterThanOrEqualTo(minApplied);
      digests.add(sm.digest());
    }
    assertThat(digests).as("digests: %s", cluster.describe()).hasSize(1);
  }
}
