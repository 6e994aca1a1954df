package io.raftkit.bench;

import io.raftkit.api.Raft;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.OverloadedException;
import io.raftkit.api.error.ProviderNotFoundException;
import io.raftkit.api.spi.Providers;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The {@code raft-bench} command: starts a cluster in this JVM, runs closed-loop asynchronous
 * clients that write through the leader, prints a per-second timeline during warm-up and
 * measurement, then throughput and latency, and ends with one {@code RESULT} line.
 *
 * <p>Each client keeps exactly one write outstanding and issues the next one from the completion
 * callback, which runs on the leader's apply thread; the callback only records the latency (from
 * the {@link Raft#write} call to the future's completion) and issues the next write. Redirects
 * after a {@link NotLeaderException} run on a separate single thread, which may wait for a leader.
 *
 * <p>Exit codes: 0 done, 1 the run failed, 2 bad command line.
 */
public final class RaftBench {

  private static final long SECOND_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final BenchOptions options;
  private final PrintStream out;
  private final Recorder recorder = new Recorder(3);
  private final LongAdder redirects = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final ExecutorService redirector;
  private volatile boolean stopping;
  private volatile Throwable firstError;
  private CountDownLatch idle;
  private BenchCluster cluster;

  private RaftBench(final BenchOptions options, final PrintStream out) {
    this.options = options;
    this.out = out;
    this.redirector =
        Executors.newSingleThreadExecutor(r -> {
          final Thread t = new Thread(r, "raft-bench-redirect");
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * The command's entry point; exits with {@link #execute}'s code.
   *
   * @param args the command line
   */
  public static void main(final String[] args) {
    System.exit(execute(args, System.out, System.err));
  }

  /**
   * Runs the command.
   *
   * @param args the command line
   * @param out where the report goes
   * @param err where errors go
   * @return the exit code: 0 done, 1 failed, 2 bad command line
   */
  public static int execute(final String[] args, final PrintStream out, final PrintStream err) {
    final BenchOptions options;
    try {
      options = BenchOptions.parse(Arrays.asList(args));
      Providers.transport(options.transport());
      Providers.storage(options.storage());
    } catch (final BenchOptions.UsageException e) {
      err.println("raft-bench: " + e.getMessage());
      err.println(BenchOptions.USAGE);
      return 2;
    } catch (final ProviderNotFoundException e) {
      err.println("raft-bench: " + e.getMessage() + " (put the provider's jar on the class path)");
      return 2;
    }
    try {
      final Result r = run(options, out);
      return r.opsPerSecond() > 0 ? 0 : 1;
    } catch (final RuntimeException | IOException e) {
      err.println("raft-bench: the run failed: " + e);
      e.printStackTrace(err);
      return 1;
    }
  }

  /**
   * The figures of one run.
   *
   * @param opsPerSecond completed writes per second over the measurement window
   * @param p50Micros median latency
   * @param p99Micros 99th percentile latency
   * @param p999Micros 99.9th percentile latency
   */
  public record Result(double opsPerSecond, double p50Micros, double p99Micros, double p999Micros) {}

  /**
   * Runs one benchmark and prints its report.
   *
   * @param options the options
   * @param out where the report goes
   * @return the figures
   * @throws IOException if durable storage cannot be set up
   */
  public static Result run(final BenchOptions options, final PrintStream out) throws IOException {
    final RaftBench bench = new RaftBench(options, out);
    try {
      return bench.run();
    } finally {
      bench.redirector.shutdownNow();
    }
  }

  private Result run() throws IOException {
    out.printf(Locale.ROOT, "raft-bench: %s%n", options);
    out.printf(Locale.ROOT, "jvm: %s %s, %d cpus, max heap %d MiB%n", System.getProperty("java.vm.name"),
        System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20);
    final long setupStart = System.nanoTime();
    cluster = BenchCluster.start(options);
    try {
      final Raft<Void> leader = cluster.awaitLeader(Duration.ofSeconds(30));
      out.printf(Locale.ROOT, "cluster up in %d ms: leader node %d at %s%s%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - setupStart), leader.nodeId(), leader.localAddress(),
          cluster.dataRoot() == null ? "" : ", data in " + cluster.dataRoot());
      return measure(leader);
    } finally {
      cluster.close();
    }
  }

  private Result measure(final Raft<Void> leader) {
    final byte[] payload = new byte[options.payloadBytes()];
    new SplittableRandom(42).nextBytes(payload);
    final List<Client> clients = new ArrayList<>(options.clients());
    idle = new CountDownLatch(options.clients());
    for (int i = 0; i < options.clients(); i++) {
      clients.add(new Client(leader, payload));
    }
    final long gcBefore = gcMillis();
    final Histogram total = new Histogram(3);
    Histogram interval = null;
    final long start = System.nanoTime();
    for (final Client c : clients) {
      c.issue();
    }
    long last = start;
    long measureStart = start;
    final int totalSeconds = options.warmupSeconds() + options.seconds();
    for (int s = 1; s <= totalSeconds; s++) {
      parkUntil(start + s * SECOND_NANOS);
      interval = recorder.getIntervalHistogram(interval);
      final long now = System.nanoTime();
      final boolean warmup = s <= options.warmupSeconds();
      printSecond(warmup ? "warmup " : "measure", s, interval, now - last);
      if (!warmup) {
        total.add(interval);
      }
      if (s == options.warmupSeconds()) {
        measureStart = now;
      }
      last = now;
      if (firstError != null) {
        throw new IllegalStateException("a write failed: " + firstError, firstError);
      }
    }
    final long measuredNanos = last - measureStart;
    stopping = true;
    drain();
    final Result result =
        new Result(total.getTotalCount() * (double) SECOND_NANOS / measuredNanos,
            micros(total.getValueAtPercentile(50)), micros(total.getValueAtPercentile(99)),
            micros(total.getValueAtPercentile(99.9)));
    out.printf(Locale.ROOT,
        "measured %.1f s: %d writes, %.0f ops/s; latency us: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f; "
            + "redirects %d, other errors %d, gc %d ms%n",
        measuredNanos / 1e9, total.getTotalCount(), result.opsPerSecond(), result.p50Micros(),
        micros(total.getValueAtPercentile(90)), result.p99Micros(), result.p999Micros(),
        micros(total.getMaxValue()), redirects.sum(), errors.sum(), gcMillis() - gcBefore);
    out.printf(Locale.ROOT,
        "RESULT system=raftkit nodes=%d clients=%d payload=%d sync=%s transport=%s storage=%s ops_per_s=%d "
            + "p50_us=%d p99_us=%d p999_us=%d%n",
        options.nodes(), options.clients(), options.payloadBytes(), options.sync(), options.transport(),
        options.storage(), Math.round(result.opsPerSecond()), Math.round(result.p50Micros()),
        Math.round(result.p99Micros()), Math.round(result.p999Micros()));
    return result;
  }

  private void printSecond(final String phase, final int second, final Histogram h, final long elapsedNanos) {
    out.printf(Locale.ROOT, "%s %3d s: %9.0f ops/s  p50 %8.1f us  p99 %9.1f us  max %9.1f us%n", phase, second,
        h.getTotalCount() * (double) SECOND_NANOS / elapsedNanos, micros(h.getValueAtPercentile(50)),
        micros(h.getValueAtPercentile(99)), micros(h.getMaxValue()));
  }

  /** Waits for the outstanding writes to finish so that closing the nodes fails none of them. */
  private void drain() {
    try {
      if (!idle.await(30, TimeUnit.SECONDS)) {
        out.printf(Locale.ROOT, "warning: %d clients still had a write outstanding after 30 s%n", idle.getCount());
      }
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void parkUntil(final long deadlineNanos) {
    // The measurement window itself: timing, not waiting for a condition.
    for (long left = deadlineNanos - System.nanoTime(); left > 0; left = deadlineNanos - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }

  private static double micros(final long nanos) {
    return nanos / 1_000.0;
  }

  private static long gcMillis() {
    long sum = 0;
    for (final GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      sum += Math.max(0, gc.getCollectionTime());
    }
    return sum;
  }

  private void fail(final Throwable t) {
    errors.increment();
    if (firstError == null) {
      firstError = t;
    }
  }

  /**
   * A closed-loop client: one write outstanding, the next issued from the completion callback.
   * Its fields are handed from thread to thread through the futures (happens-before).
   */
  private final class Client implements BiConsumer<WriteResult<Void>, Throwable> {
    private final byte[] payload;
    private Raft<Void> target;
    private long startNanos;

    Client(final Raft<Void> target, final byte[] payload) {
      this.target = target;
      this.payload = payload;
    }

    void issue() {
      if (stopping) {
        idle.countDown();
        return;
      }
      startNanos = System.nanoTime();
      target.write(payload).whenComplete(this);
    }

    @Override
    public void accept(final WriteResult<Void> result, final Throwable failure) {
      if (failure == null) {
        recorder.recordValue(System.nanoTime() - startNanos);
        issue();
        return;
      }
      final Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause()
          : failure;
      if (cause instanceof NotLeaderException || cause instanceof OverloadedException) {
        redirects.increment();
        redirector.execute(this::redirect);
      } else if (stopping) {
        idle.countDown();
      } else {
        fail(cause);
        idle.countDown();
      }
    }

    /** On the redirect thread: finds the (new) leader, waiting for one if need be, and retries. */
    private void redirect() {
      try {
        target = cluster.awaitLeader(Duration.ofSeconds(30));
        issue();
      } catch (final RuntimeException e) {
        fail(e);
        idle.countDown();
      }
    }
  }
}
