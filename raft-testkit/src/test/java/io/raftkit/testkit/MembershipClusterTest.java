package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.ChangeMembers;
import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ServerState;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.NotLeaderException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Learners and joint-consensus membership changes on a real cluster, with writes running. */
class MembershipClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldAnswerABlockingAddLearnerOnlyOnceTheLearnerHoldsTheEntryThatAddsIt() throws Exception {
    // On a short log a learner that has received nothing is "within one append batch": the
    // blocking add used to answer then, and a read on the learner right after it failed, the
    // learner not knowing the leader's address yet (FollowerReadClusterTest, now and then).
    try (TestCluster cluster = MemoryClusters.of(4, ReplicationClusterTest.STABLE)) {
      for (long id = 1; id <= 4; id++) {
        cluster.start(id);
      }
      cluster.initialize(List.of(1L, 2L, 3L));
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      leader.awaitMetrics(m -> m.committed().term() == m.currentTerm(), TIMEOUT).get(30, TimeUnit.SECONDS);
      // The learner's log arrives late: its first (refused) append and the entries after it.
      cluster.network().delay(leader.nodeId(), 4, Duration.ofMillis(50));

      final long[] matchedWhenAnswered = new long[1];
      final LogId added = leader.addLearner(4, cluster.address(4), true)
          .thenApply(id -> {
            matchedWhenAnswered[0] = leader.metrics().replication().getOrDefault(4L, 0L);
            return id;
          })
          .get(30, TimeUnit.SECONDS);

      assertThat(matchedWhenAnswered[0]).as("learner 4's match index when the add answered")
          .isGreaterThanOrEqualTo(added.index());
      assertThat(cluster.node(4).metrics().membership().membership().address(leader.nodeId()))
          .as("the learner knows the leader's address").isEqualTo(cluster.address(leader.nodeId()));
    }
  }

  @Test
  void shouldGrowFromThreeToFiveVotersThroughLearnersWhileWritesRun() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(5, ReplicationClusterTest.STABLE).start()) {
      cluster.initialize(List.of(1L, 2L, 3L));
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final List<CompletableFuture<WriteResult<Long>>> writes = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        writes.add(leader.write(new byte[] {(byte) i}));
      }
      // A leader refuses membership changes until an entry of its term commits: the first write's
      // commit proves it (under load the blank entry may not have committed yet).
      writes.get(0).get(30, TimeUnit.SECONDS);
      // Blocking: completes once learner 4 has caught up with the writes in flight.
      final LogId added = leader.addLearner(4, cluster.address(4), true).get(30, TimeUnit.SECONDS);
      leader.addLearner(5, cluster.address(5), false).get(30, TimeUnit.SECONDS);
      assertThat(cluster.node(4).metrics().state()).isEqualTo(ServerState.LEARNER);
      assertThat(cluster.node(4).metrics().lastLogId().index()).isGreaterThanOrEqualTo(added.index());

      for (int i = 0; i < 500; i++) {
        writes.add(leader.write(new byte[] {(byte) i, 1}));
      }
      final LogId promoted = leader.changeMembership(new ChangeMembers.AddVoterIds(Set.of(4L, 5L)), false)
          .get(30, TimeUnit.SECONDS);
      for (final CompletableFuture<WriteResult<Long>> w : writes) {
        w.get(30, TimeUnit.SECONDS);
      }
      cluster.awaitAll(m -> m.membership().logId().index() >= promoted.index(), "has the new membership", TIMEOUT);
      final RaftMetrics m = cluster.node(5).awaitState(ServerState.FOLLOWER, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(m.membership().membership().voterIds()).containsExactly(1L, 2L, 3L, 4L, 5L);
      assertThat(m.isJoint()).isFalse();

      // The new voters count: with two of the old ones gone, the cluster still commits.
      final long old1 = leader.nodeId() % 3 + 1;
      final long old2 = old1 % 3 + 1;
      cluster.stop(old1);
      cluster.stop(old2);
      final Raft<Long> still = cluster.awaitLeader(TIMEOUT);
      final long index = writeRetrying(cluster, new byte[] {42});
      still.awaitApplied(index, TIMEOUT).get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldLetALeaderRemoveItselfThenStepDownAndStopReceivingTheLog() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3, ReplicationClusterTest.STABLE).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS);

      // A change that would leave no voter, and one during another, are refused.
      assertThat(failureOf(leader.changeMembership(new ChangeMembers.ReplaceAllVoters(Set.of()), true)))
          .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no voter");

      final LogId removed = leader.changeMembership(new ChangeMembers.RemoveVoters(Set.of(leader.nodeId())), false)
          .get(30, TimeUnit.SECONDS);
      leader.awaitMetrics(m -> m.state() != ServerState.LEADER, TIMEOUT).get(30, TimeUnit.SECONDS);
      final Set<Long> rest = new HashSet<>(cluster.nodeIds());
      rest.remove(leader.nodeId());
      final List<Long> others = new ArrayList<>(rest);
      final Raft<Long> next = awaitLeaderAmong(cluster, others);
      assertThat(next.metrics().membership().membership().contains(leader.nodeId())).isFalse();
      final long before = leader.metrics().lastLogId().index();
      final long index = next.write(new byte[] {2}).get(30, TimeUnit.SECONDS).logId().index();
      assertThat(index).isGreaterThan(removed.index());
      for (final long id : others) {
        cluster.node(id).awaitApplied(index, TIMEOUT).get(30, TimeUnit.SECONDS);
      }
      assertThat(leader.metrics().lastLogId().index()).as("the removed node gets no more entries").isEqualTo(before);
      assertThat(failureOf(leader.write(new byte[] {3}))).isInstanceOf(NotLeaderException.class);
    }
  }

  private static Raft<Long> awaitLeaderAmong(final TestCluster cluster, final List<Long> ids) throws Exception {
    final List<CompletableFuture<RaftMetrics>> waits = new ArrayList<>();
    for (final long id : ids) {
      waits.add(cluster.node(id).awaitMetrics(RaftMetrics::isLeader, TIMEOUT));
    }
    final RaftMetrics m = (RaftMetrics) CompletableFuture.anyOf(waits.toArray(new CompletableFuture<?>[0]))
        .get(30, TimeUnit.SECONDS);
    return cluster.node(m.nodeId());
  }

  private static long writeRetrying(final TestCluster cluster, final byte[] command) throws Exception {
    final long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      try {
        return cluster.awaitLeader(TIMEOUT).write(command).get(30, TimeUnit.SECONDS).logId().index();
      } catch (final ExecutionException e) {
        if (!(e.getCause() instanceof NotLeaderException) || System.nanoTime() > deadline) {
          throw e;
        }
      }
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
