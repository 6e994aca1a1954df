package io.raftkit.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures what a log sync costs on this machine's disk, the floor under every durable figure of
 * {@link RaftBench}: {@code threads} threads (one per simulated node) each append {@code count}
 * writes of {@code bytes} to their own file and force each one ({@code fdatasync}), in four
 * set-ups: a file that grows with every write ({@code extend}) or one zero-filled beforehand
 * ({@code prealloc}, what {@code storage-file} does), each with and without a 40-byte write to the
 * file's first page after each force ({@code +slot}, the sync slot {@code storage-file} keeps in
 * its segment header). Prints p50/p90/p99 per set-up.
 *
 * <pre>{@code
 * java -cp raft-bench/target/raft-bench.jar io.raftkit.bench.FsyncProbe [threads=3] [bytes=2000] [count=2000] [dir=java.io.tmpdir]
 * }</pre>
 */
public final class FsyncProbe {

  private FsyncProbe() {}

  /**
   * Runs the probe.
   *
   * @param args {@code [threads] [bytes] [count] [dir]}
   */
  public static void main(final String[] args) throws Exception {
    final int threads = args.length > 0 ? positive("threads", args[0]) : 3;
    final int bytes = args.length > 1 ? positive("bytes", args[1]) : 2000;
    final int count = args.length > 2 ? positive("count", args[2]) : 2000;
    final Path dir = Path.of(args.length > 3 ? args[3] : System.getProperty("java.io.tmpdir"));
    run(threads, bytes, count, dir, System.out);
  }

  private static int positive(final String name, final String value) {
    try {
      final int n = Integer.parseInt(value);
      if (n > 0) {
        return n;
      }
    } catch (final NumberFormatException e) {
      // fall through
    }
    System.err.println("FsyncProbe: " + name + "=" + value + " must be a positive integer");
    System.exit(2);
    return 0;
  }

  /** Runs every set-up once and prints a line for each. */
  static void run(final int threads, final int bytes, final int count, final Path dir, final PrintStream out)
      throws Exception {
    for (final boolean prealloc : new boolean[] {false, true}) {
      for (final boolean slot : new boolean[] {false, true}) {
        final long[] nanos = measure(threads, bytes, count, dir, prealloc, slot);
        out.printf("%-8s %-5s threads=%d bytes=%d count=%d: p50 %d us, p90 %d us, p99 %d us%n",
            prealloc ? "prealloc" : "extend", slot ? "+slot" : "", threads, bytes, count,
            nanos[nanos.length / 2] / 1000, nanos[nanos.length * 9 / 10] / 1000, nanos[nanos.length * 99 / 100] / 1000);
      }
    }
  }

  /** The sorted durations of every write + force of every thread. */
  static long[] measure(final int threads, final int bytes, final int count, final Path dir, final boolean prealloc,
      final boolean slot) throws Exception {
    final ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      final List<Future<long[]>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        final Path file = Files.createTempFile(dir, "fsync-probe-", ".tmp");
        results.add(pool.submit(() -> probe(file, bytes, count, prealloc, slot)));
      }
      final long[] all = new long[threads * count];
      for (int t = 0; t < threads; t++) {
        System.arraycopy(results.get(t).get(), 0, all, t * count, count);
      }
      Arrays.sort(all);
      return all;
    } finally {
      pool.shutdownNow();
    }
  }

  private static long[] probe(final Path file, final int bytes, final int count, final boolean prealloc,
      final boolean slot) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      final long start = 4096; // the records start after a header page, as in a segment
      if (prealloc) {
        final ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
        for (long at = 0; at < start + (long) bytes * count; at += zeros.capacity()) {
          zeros.clear();
          ch.write(zeros, at);
        }
        ch.force(true);
      }
      final ByteBuffer record = ByteBuffer.allocateDirect(bytes);
      final ByteBuffer slotBytes = ByteBuffer.allocateDirect(40);
      final long[] nanos = new long[count];
      for (int i = 0; i < count; i++) {
        record.clear();
        final long t0 = System.nanoTime();
        ch.write(record, start + (long) i * bytes);
        ch.force(false);
        if (slot) {
          slotBytes.clear();
          ch.write(slotBytes, 32 + (i % 2) * 40L);
        }
        nanos[i] = System.nanoTime() - t0;
      }
      return nanos;
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
