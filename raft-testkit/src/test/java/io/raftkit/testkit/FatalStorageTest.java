package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ServerState;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.FatalStorageException;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.storage.memory.MemoryStores;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A storage failure is fatal: the node stops, says why, and acknowledges nothing it could not sync. */
class FatalStorageTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldStopTheNodeAndFailPendingWritesWhenASyncFails() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(1).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      assertThat(leader.write(new byte[] {1}).get(30, TimeUnit.SECONDS).response()).isEqualTo(1L);

      MemoryStores.get(cluster.storeName(1)).failSyncs(new IOException("disk on fire"));
      final CompletableFuture<WriteResult<Long>> write = leader.write(new byte[] {2});
      final Throwable error = failureOf(write);
      assertThat(error).isInstanceOf(ShutdownException.class).hasMessageContaining("fatal error");
      assertThat(error.getCause()).isInstanceOf(FatalStorageException.class).hasMessageContaining("disk on fire");

      final RaftMetrics m = leader.awaitMetrics(x -> x.state() == ServerState.SHUTDOWN, TIMEOUT).get(30, TimeUnit.SECONDS);
      assertThat(m.fatalError()).contains("disk on fire");
      assertThat(failureOf(leader.write(new byte[] {3}))).isInstanceOf(ShutdownException.class);
      assertThat(cluster.stateMachine(1).appliedCount()).as("the failed write was never applied").isEqualTo(1);
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
