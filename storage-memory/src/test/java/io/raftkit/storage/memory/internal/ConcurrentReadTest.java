package io.raftkit.storage.memory.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.RaftStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConcurrentReadTest {

  @Test
  void shouldSeeConsistentLogWhileAnotherThreadWrites() throws Exception {
    final ExecutorService readers = Executors.newFixedThreadPool(1);
    try (RaftStorage storage = TestEntries.openFresh()) {
      final LogStore log = storage.log();
      final AtomicBoolean done = new AtomicBoolean();
      final AtomicLong reads = new AtomicLong();
      final CompletableFuture<Void> reader =
          CompletableFuture.runAsync(
              () -> {
                while (!done.get()) {
                  checkSnapshotOfLog(log);
                  reads.incrementAndGet();
                }
              },
              readers);

      long next = 1;
      for (int round = 0; round < 3_000; round++) {
        final List<Entry> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          batch.add(TestEntries.entry(1, next++));
        }
        log.append(batch);
        if (round % 10 == 9) {
          log.purgePrefix(LogId.of(1, next - 50));
        }
        if (round % 7 == 6) {
          log.truncateSuffix(next - 3);
          next -= 3;
        }
      }
      done.set(true);
      reader.get(30, TimeUnit.SECONDS);
      assertThat(reads.get()).isPositive();
      assertThat(log.lastLogId()).isEqualTo(LogId.of(1, next - 1));
    } finally {
      readers.shutdownNow();
    }
  }

  /** Reads whatever range is valid now; a concurrent purge may make it invalid, which is allowed. */
  private static void checkSnapshotOfLog(final LogStore log) {
    final long first = log.firstIndex();
    final long last = log.lastLogId().index();
    final List<Entry> read;
    try {
      read = log.read(first, last + 1, Long.MAX_VALUE);
    } catch (final IllegalArgumentException raced) {
      return;
    } catch (final IOException e) {
      throw new AssertionError(e);
    }
    for (int i = 0; i < read.size(); i++) {
      if (read.get(i).index() != first + i) {
        throw new AssertionError("entry " + read.get(i).logId() + " at position " + i + " of a read from " + first);
      }
    }
  }
}
