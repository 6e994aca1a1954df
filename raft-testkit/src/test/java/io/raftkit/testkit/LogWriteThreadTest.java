package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.storage.memory.MemoryStore;
import io.raftkit.storage.memory.MemoryStores;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Where the runtime runs log writes: inline on each node's engine thread for a store that {@link
 * io.raftkit.api.spi.RaftStorage#neverBlocks() never blocks}, on its log-writer thread otherwise
 * (the memory store says it may block with {@link MemoryStores#BLOCKING_OPTION}). Leader and
 * followers alike.
 */
class LogWriteThreadTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @ParameterizedTest(name = "memory.blocking={0}: appends on raftkit-<id>-{1}")
  @CsvSource({"false, engine", "true, log"})
  void shouldRunLogWritesInlineOnlyForAStoreThatNeverBlocks(final boolean blocking, final String thread)
      throws Exception {
    try (TestCluster cluster = TestCluster.builder()
        .size(3)
        .option(MemoryStores.BLOCKING_OPTION, Boolean.toString(blocking))
        .afterClose(c -> c.storeNames().forEach(MemoryStores::drop))
        .build()
        .start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long index = leader.write(new byte[] {7}).get(30, TimeUnit.SECONDS).logId().index();
      cluster.awaitApplied(index, TIMEOUT);
      for (final long id : new long[] {1, 2, 3}) {
        final MemoryStore store = MemoryStores.get(cluster.storeName(id));
        assertThat(store.lastLogId().index()).as("node %d holds the write as its last entry", id).isEqualTo(index);
        assertThat(store.lastAppendThread()).as("the thread that appended it on node %d", id)
            .isEqualTo("raftkit-" + id + "-" + thread);
      }
    }
  }
}
