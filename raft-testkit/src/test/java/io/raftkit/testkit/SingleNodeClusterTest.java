package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.api.WriteResult;
import io.raftkit.storage.memory.MemoryStore;
import io.raftkit.storage.memory.MemoryStores;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A one-node cluster: it elects itself, and acknowledges a write only once it is synced. */
class SingleNodeClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldAcknowledgeWriteOnlyAfterTheLogSync() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(1).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final MemoryStore store = MemoryStores.get(cluster.storeName(1));
      // Let the leader's blank entry be applied, so the next write is the only thing in flight.
      final long blank = leader.metrics().lastLogId().index();
      cluster.awaitApplied(blank, TIMEOUT);

      store.holdSyncs();
      try {
        checkAcknowledgedOnlyAfterSync(leader, store, blank);
      } finally {
        store.releaseSyncs(); // even on failure: a node stuck in a held sync would hang close()
      }
    }
  }

  private static void checkAcknowledgedOnlyAfterSync(final Raft<Long> leader, final MemoryStore store, final long blank)
      throws Exception {
    final CompletableFuture<WriteResult<Long>> write = leader.write(new byte[] {42});
    assertThat(store.awaitBlockedSync(TIMEOUT)).as("the log writer reached sync").isTrue();
    // The entry is in the log but its sync is blocked: it must not be acknowledged.
    leader.awaitMetrics(m -> m.lastLogId().index() == blank + 1, TIMEOUT).get(30, TimeUnit.SECONDS);
    assertThat(store.syncedLastLogId().index()).isEqualTo(blank);
    assertThat(write).as("write acknowledged before its sync").isNotDone();
    assertThat(leader.metrics().committed().index()).isEqualTo(blank);

    final long[] syncedAtAck = new long[1];
    final CompletableFuture<WriteResult<Long>> acked =
        write.whenComplete((r, err) -> syncedAtAck[0] = store.syncedLastLogId().index());
    store.releaseSyncs();
    final WriteResult<Long> result = acked.get(30, TimeUnit.SECONDS);
    assertThat(result.logId().index()).isEqualTo(blank + 1);
    assertThat(result.response()).as("the state machine's count of writes").isEqualTo(1L);
    assertThat(syncedAtAck[0]).as("synced index when acknowledged").isGreaterThanOrEqualTo(blank + 1);
  }

  @Test
  void shouldKeepAcknowledgedWritesAcrossACrashAndReplayThemOnRestart() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(1).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      long last = 0;
      for (int i = 0; i < 50; i++) {
        last = leader.write(new byte[] {(byte) i}).get(30, TimeUnit.SECONDS).logId().index();
      }
      final long digest = cluster.stateMachine(1).digest();
      MemoryClusters.crash(cluster, 1);
      final Raft<Long> restarted = cluster.start(1);
      cluster.awaitLeader(TIMEOUT);
      cluster.awaitApplied(last, TIMEOUT);
      assertThat(cluster.stateMachine(1).appliedCount()).isEqualTo(50);
      assertThat(cluster.stateMachine(1).digest()).isEqualTo(digest);
      assertThat(restarted.write(new byte[] {1}).get(30, TimeUnit.SECONDS).response()).isEqualTo(51L);
    }
  }
}
