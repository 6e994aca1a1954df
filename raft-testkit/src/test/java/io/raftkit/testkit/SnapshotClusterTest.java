package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.SnapshotPolicy;
import io.raftkit.api.message.InstallSnapshotRequest;
import io.raftkit.storage.memory.MemoryStores;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Snapshots and log compaction on {@code local} + {@code memory} clusters, each with something
 * going wrong at the same time: writes running, a node joining late, a crash or a leader change
 * in the middle of a snapshot's transfer. Snapshots of {@link DigestStateMachine} are 36 bytes;
 * chunks of 8 bytes make every transfer take five chunks.
 */
class SnapshotClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static Config config(final Config base, final long every, final long keep) {
    return base.toBuilder()
        .snapshotPolicy(every == 0 ? SnapshotPolicy.NEVER : SnapshotPolicy.logsSinceLast(every))
        .maxInSnapshotLogToKeep(keep)
        .snapshotMaxChunkSize(8)
        .build();
  }

  @Test
  void shouldTakeSnapshotsAndPurgeTheLogWhileTenThousandWritesGoOnWithTheSameStateEverywhere() throws Exception {
    final Config config = config(ReplicationClusterTest.STABLE, 1000, 100);
    try (TestCluster cluster = MemoryClusters.of(3, config).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      // The snapshots the leader reports while writes are still running.
      final Set<Long> seenDuringWrites = ConcurrentHashMap.newKeySet();
      final CompletableFuture<Void> writesDone = new CompletableFuture<>();
      final AutoCloseable sub = leader.subscribe(m -> {
        if (!writesDone.isDone() && m.snapshot().index() > 0) {
          seenDuringWrites.add(m.snapshot().index());
        }
      });

      final long last = writeConcurrently(leader, 16, 625);
      writesDone.complete(null);
      sub.close();

      assertThat(seenDuringWrites).as("snapshots built while the writes went on").hasSizeGreaterThanOrEqualTo(3);
      cluster.awaitAll(m -> m.lastApplied().index() >= last && m.snapshot().index() >= 9000,
          "applied " + last + " and a snapshot at 9000 or later", TIMEOUT);
      for (final long id : cluster.nodeIds()) {
        final RaftMetrics m = cluster.node(id).metrics();
        if (id == leaderId(cluster) || m.purged().index() != m.snapshot().index()) {
          // A snapshot it built: the purge keeps the 100 entries before it.
          assertThat(m.purged().index()).as("node %d purged behind its snapshot %s, keeping 100", id, m.snapshot())
              .isPositive().isLessThanOrEqualTo(m.snapshot().index() - 100);
        } else {
          // A follower more than 100 entries behind when the leader purged got the leader's snapshot,
          // which replaces its whole log up to the snapshot: purged there is the snapshot's index.
          assertThat(m.purged()).as("node %d installed the leader's snapshot %s", id, m.snapshot())
              .isEqualTo(m.snapshot());
        }
      }
      assertSameState(cluster, 10_000);
    }
  }

  @Test
  void shouldRestartFromTheLatestSnapshotAndReplayOnlyTheLogAfterIt() throws Exception {
    final Config config = config(TestCluster.defaultConfig(), 500, 10);
    try (TestCluster cluster = MemoryClusters.of(3, config).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long last = writeConcurrently(leader, 8, 200);
      final long follower = otherThan(cluster, leader.nodeId());
      cluster.awaitAll(m -> m.lastApplied().index() >= last && m.purged().index() > 0, "applied and purged", TIMEOUT);

      final Raft<Long> restarted = cluster.restart(follower);

      // The log alone cannot rebuild the count: entries up to `purged` are gone.
      assertThat(restarted.metrics().purged().index()).isPositive();
      assertThat(restarted.metrics().snapshot().index()).isPositive();
      cluster.awaitAll(m -> m.lastApplied().index() >= last, "applied " + last, TIMEOUT);
      assertSameState(cluster, 1600);
    }
  }

  @Test
  void shouldBringANodeThatJoinsAfterThePurgeUpToDateWithTheSnapshot() throws Exception {
    final Config config = config(TestCluster.defaultConfig(), 500, 10);
    try (TestCluster cluster = MemoryClusters.of(4, config)) {
      for (long id = 1; id <= 3; id++) {
        cluster.start(id);
      }
      cluster.initialize(List.of(1L, 2L, 3L));
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long last = writeConcurrently(leader, 8, 250);
      leader.awaitMetrics(m -> m.purged().index() > 1, TIMEOUT).get(30, TimeUnit.SECONDS);
      final AtomicInteger chunksToNode4 = new AtomicInteger();
      cluster.network().filter((from, to, request) -> {
        if (to == 4 && request instanceof InstallSnapshotRequest) {
          chunksToNode4.incrementAndGet();
        }
        return true;
      });

      final Raft<Long> joiner = cluster.start(4);
      leader.addLearner(4, cluster.address(4), true).get(30, TimeUnit.SECONDS);

      assertThat(chunksToNode4.get()).as("chunks of at most 8 bytes for a 36-byte snapshot").isGreaterThanOrEqualTo(5);
      joiner.awaitMetrics(m -> m.lastApplied().index() >= last, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(joiner.metrics().snapshot().index()).as("installed from the leader's snapshot").isPositive();
      assertThat(joiner.metrics().purged().index()).isGreaterThanOrEqualTo(joiner.metrics().snapshot().index() - 10);
      // It is a member that follows the log from there on.
      final long more = writeConcurrently(leader, 2, 10);
      joiner.awaitMetrics(m -> m.lastApplied().index() >= more, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertSameState(cluster, 2020);
    }
  }

  @Test
  void shouldDiscardAHalfReceivedSnapshotWhenTheFollowerCrashesMidInstallAndInstallItAfterRestart()
      throws Exception {
    final Config config = config(TestCluster.defaultConfig(), 0, 10);
    try (TestCluster cluster = MemoryClusters.of(3, config).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long lagging = otherThan(cluster, leader.nodeId());
      cluster.network().isolate(lagging);
      final long last = writeConcurrently(leader, 8, 100);
      final SnapshotMeta snapshot = leader.trigger().snapshot().get(30, TimeUnit.SECONDS);
      assertThat(leader.metrics().purged().index()).isEqualTo(snapshot.lastLogId().index() - 10);

      // Let two chunks through, then nothing more to the lagging node.
      final AtomicInteger chunks = new AtomicInteger();
      final CountDownLatch twoChunks = new CountDownLatch(1);
      cluster.network().filter((from, to, request) -> {
        if (to != lagging) {
          return true;
        }
        if (request instanceof InstallSnapshotRequest && chunks.incrementAndGet() <= 2) {
          if (chunks.get() == 2) {
            twoChunks.countDown();
          }
          return true;
        }
        return chunks.get() < 2;
      });
      cluster.network().rejoin(lagging);
      assertThat(twoChunks.await(30, TimeUnit.SECONDS)).as("two chunks reached node %d", lagging).isTrue();

      MemoryClusters.crash(cluster, lagging);
      assertThat(MemoryStores.get(cluster.storeName(lagging)).latestSnapshot())
          .as("a half-received snapshot is never visible").isEmpty();
      final Raft<Long> restarted = cluster.start(lagging);
      assertThat(restarted.metrics().snapshot()).isEqualTo(LogId.ZERO);
      cluster.network().filter(null);

      restarted.awaitMetrics(m -> m.lastApplied().index() >= last, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(restarted.metrics().snapshot()).isEqualTo(snapshot.lastLogId());
      assertThat(MemoryStores.get(cluster.storeName(lagging)).latestSnapshot().orElseThrow().lastLogId())
          .isEqualTo(snapshot.lastLogId());
      assertSameState(cluster, 800);
    }
  }

  @Test
  void shouldInstallTheNewLeadersSnapshotAfterTheLeaderChangedMidInstall() throws Exception {
    final Config config = config(TestCluster.defaultConfig(), 300, 10);
    try (TestCluster cluster = MemoryClusters.of(3, config).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long oldLeader = leader.nodeId();
      final long lagging = otherThan(cluster, oldLeader);
      final long other = 6 - oldLeader - lagging;
      cluster.network().isolate(lagging);
      final long last = writeConcurrently(leader, 8, 150);
      cluster.node(other).awaitMetrics(m -> m.lastApplied().index() >= last && m.purged().index() > 1, TIMEOUT)
          .get(30, TimeUnit.SECONDS);
      leader.awaitMetrics(m -> m.purged().index() > 1, TIMEOUT).get(30, TimeUnit.SECONDS);

      // The old leader gets two chunks through; then its chunks to the lagging node are lost.
      final AtomicInteger chunks = new AtomicInteger();
      final CountDownLatch twoChunks = new CountDownLatch(1);
      final AtomicLong fromNewLeader = new AtomicLong();
      cluster.network().filter((from, to, request) -> {
        if (to != lagging || !(request instanceof InstallSnapshotRequest)) {
          return true;
        }
        if (from != oldLeader) {
          fromNewLeader.incrementAndGet();
          return true;
        }
        if (chunks.incrementAndGet() == 2) {
          twoChunks.countDown();
        }
        return chunks.get() <= 2;
      });
      cluster.network().rejoin(lagging);
      assertThat(twoChunks.await(30, TimeUnit.SECONDS)).isTrue();

      cluster.stop(oldLeader);
      final Raft<Long> newLeader = cluster.node(other);
      newLeader.awaitMetrics(RaftMetrics::isLeader, TIMEOUT).get(30, TimeUnit.SECONDS);
      final Raft<Long> follower = cluster.node(lagging);
      follower.awaitMetrics(m -> m.lastApplied().index() >= last, TIMEOUT).get(30, TimeUnit.SECONDS);

      assertThat(fromNewLeader.get()).as("chunks from the new leader").isPositive();
      assertThat(follower.metrics().snapshot().index()).isPositive();
      cluster.start(oldLeader);
      final long more = writeConcurrently(newLeader, 1, 5);
      cluster.awaitAll(m -> m.lastApplied().index() >= more, "applied " + more, TIMEOUT);
      assertSameState(cluster, 1205);
    }
  }

  private static long otherThan(final TestCluster cluster, final long id) {
    return cluster.nodeIds().stream().filter(n -> n != id).findFirst().orElseThrow();
  }

  /** Every running node applied {@code writes} commands with one digest. */
  private static void assertSameState(final TestCluster cluster, final long writes) {
    final LogId last = cluster.leader().orElseThrow().metrics().lastLogId();
    cluster.awaitAll(m -> m.lastApplied().equals(last), "lastApplied=" + last, TIMEOUT);
    final Set<Long> digests = new HashSet<>();
    for (final long id : cluster.runningNodes().keySet()) {
      final DigestStateMachine.Progress p = cluster.stateMachine(id).progress();
      assertThat(p.appliedCount()).as("commands applied on node %d: %s", id, cluster.describe()).isEqualTo(writes);
      digests.add(p.digest());
    }
    assertThat(digests).as("digests: %s", cluster.describe()).hasSize(1);
  }

  /**
   * {@code clients} clients each write {@code each} commands one after the other; every write must
   * succeed.
   *
   * @return the highest log index acknowledged
   */
  private static long writeConcurrently(final Raft<Long> leader, final int clients, final int each) throws Exception {
    final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    final AtomicLong highest = new AtomicLong();
    final List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      final CompletableFuture<Void> finished = new CompletableFuture<>();
      done.add(finished);
      chain(leader, c, 0, each, highest, errors, finished);
    }
    CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
    assertThat(errors).as("write errors").isEmpty();
    return highest.get();
  }

  private static void chain(final Raft<Long> leader, final int client, final int seq, final int total,
      final AtomicLong highest, final ConcurrentLinkedQueue<Throwable> errors, final CompletableFuture<Void> finished) {
    if (seq == total) {
      finished.complete(null);
      return;
    }
    final byte[] command = ByteBuffer.allocate(8).putInt(client).putInt(seq).array();
    leader.write(command).whenComplete((r, err) -> {
      if (err != null) {
        errors.add(err);
        finished.complete(null);
        return;
      }
      highest.accumulateAndGet(r.logId().index(), Math::max);
      chain(leader, client, seq + 1, total, highest, errors, finished);
    });
  }

  private static long leaderId(final TestCluster cluster) {
    for (final long id : cluster.nodeIds()) {
      if (cluster.node(id).metrics().isLeader()) {
        return id;
      }
    }
    throw new AssertionError("no leader");
  }
}
