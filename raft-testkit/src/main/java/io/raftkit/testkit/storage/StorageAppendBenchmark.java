package io.raftkit.testkit.storage;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A small command that measures synced append throughput of storage providers: for each
 * provider, entry size (128 B, 4 KiB) and batch size (1, 64, 1024 entries per sync), it appends
 * and syncs in a loop for a while on a fresh store and prints entries/s and MB/s. A benchmark,
 * not a test: run it on an idle machine, several rounds, and report ranges.
 *
 * <pre>
 * java -cp &lt;raft-api, raft-testkit, providers and their dependencies&gt; \
 *     io.raftkit.testkit.storage.StorageAppendBenchmark \
 *     &lt;work dir&gt; &lt;seconds per case&gt; &lt;rounds&gt; file rocksdb
 * </pre>
 *
 * <p>Rounds alternate the provider order, since runs differ widely on a shared machine.
 */
public final class StorageAppendBenchmark {

  private static final int[] ENTRY_BYTES = {128, 4096};
  private static final int[] BATCH_ENTRIES = {1, 64, 1024};

  private StorageAppendBenchmark() {}

  /**
   * Runs the benchmark.
   *
   * @param args work directory, seconds per case, rounds, then provider names
   * @throws IOException if a store fails
   */
  public static void main(final String[] args) throws IOException {
    final Path work = Path.of(args[0]);
    final double seconds = Double.parseDouble(args[1]);
    final int rounds = Integer.parseInt(args[2]);
    final List<String> providers = new ArrayList<>(List.of(args).subList(3, args.length));
    System.out.printf(Locale.ROOT, "%-6s %-8s %6s %6s %14s %10s %10s%n",
        "round", "provider", "entry", "batch", "entries/s", "MB/s", "syncs/s");
    for (int round = 1; round <= rounds; round++) {
      for (final String provider : providers) {
        for (final int entryBytes : ENTRY_BYTES) {
          for (final int batch : BATCH_ENTRIES) {
            final Path dir = Files.createDirectories(work.resolve(provider + "-" + entryBytes + "-" + batch));
            try {
              run(round, provider, dir, entryBytes, batch, seconds);
            } finally {
              deleteRecursively(dir);
            }
          }
        }
      }
      java.util.Collections.reverse(providers);
    }
  }

  private static void run(
      final int round,
      final String provider,
      final Path dir,
      final int entryBytes,
      final int batch,
      final double seconds)
      throws IOException {
    final byte[] payload = TckEntries.payload(1, 1, entryBytes);
    try (RaftStorage storage = Providers.storage(provider).open(new StorageContext(1, "bench", dir, Map.of()))) {
      long next = 1;
      // Warm-up: a quarter of the time, not counted.
      final long warmEnd = System.nanoTime() + (long) (seconds * 0.25e9);
      while (System.nanoTime() < warmEnd) {
        next = appendAndSync(storage, next, batch, payload);
      }
      final long start = System.nanoTime();
      final long end = start + (long) (seconds * 1e9);
      final long first = next;
      long syncs = 0;
      while (System.nanoTime() < end) {
        next = appendAndSync(storage, next, batch, payload);
        syncs++;
      }
      final double elapsed = (System.nanoTime() - start) / 1e9;
      final double entries = (next - first) / elapsed;
      System.out.printf(Locale.ROOT, "%-6d %-8s %6d %6d %14.0f %10.1f %10.0f%n",
          round, provider, entryBytes, batch, entries, entries * entryBytes / 1e6, syncs / elapsed);
    }
  }

  private static long appendAndSync(final RaftStorage storage, final long from, final int batch, final byte[] payload)
      throws IOException {
    final List<Entry> entries = new ArrayList<>(batch);
    for (int i = 0; i < batch; i++) {
      entries.add(Entry.normal(LogId.of(1, from + i), payload));
    }
    storage.log().append(entries);
    storage.log().sync();
    return from + batch;
  }

  private static void deleteRecursively(final Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (final IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
