package io.raftkit.testkit.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement, not a test: request/response round trips per second between two nodes of one
 * transport provider over loopback with 1 and 64 requests in flight, for a vote and for an append
 * of 64 entries of 128 B. Runs only with {@code -Draftkit.measure=true}; prints one line per
 * second so that JIT warm-up shows, and asserts nothing about speed (only that no request failed).
 * A provider's module subclasses it naming the provider, as with {@link TransportTck}:
 *
 * <pre>{@code
 * class NettyRoundTripMeasurementTest extends TransportRoundTripMeasurement {
 *   protected String providerName() { return "netty"; }
 * }
 * }</pre>
 *
 * <p>The flag gates the test method, not the class: JUnit does not look for a condition on a
 * superclass, so on this abstract class it would not stop the subclasses.
 */
public abstract class TransportRoundTripMeasurement {

  private static final int WARMUP_SECONDS = 8;
  private static final int MEASURE_SECONDS = 5;

  /** Creates the measurement; subclasses name the provider. */
  protected TransportRoundTripMeasurement() {}

  /**
   * The name of the provider measured, as {@link Providers#transport} finds it.
   *
   * @return the provider name
   */
  protected abstract String providerName();

  /**
   * Provider options for both nodes; none by default.
   *
   * @return the options
   */
  protected Map<String, String> options() {
    return Map.of();
  }

  /**
   * Measures vote and append round trips with 1 and 64 in flight, printing the timelines.
   *
   * @throws Exception if a transport cannot start or a request gets no answer within a second
   */
  @Test
  @EnabledIfSystemProperty(named = "raftkit.measure", matches = "true")
  public void measureRoundTrips() throws Exception {
    final TransportProvider provider = Providers.transport(providerName());
    final List<Entry> entries = new ArrayList<>();
    for (int i = 1; i <= 64; i++) {
      entries.add(Entry.normal(LogId.of(1, i), new byte[128]));
    }
    final RaftRequest append = new AppendRequest(1, 1, LogId.ZERO, entries, 0);
    final RaftRequest vote = new VoteRequest(1, 1, LogId.ZERO, false);
    final Transport server =
        provider
            .create(
                new TransportContext(
                    2,
                    "m",
                    "127.0.0.1:0",
                    (from, r) ->
                        CompletableFuture.completedFuture(
                            r.kind() == RaftRequest.Kind.VOTE
                                ? new VoteResponse(1, true, false)
                                : AppendResponse.success(1, 64)),
                    Duration.ofSeconds(10),
                    options()));
    final Transport client =
        provider
            .create(new TransportContext(1, "m", "127.0.0.1:0", (f, r) -> new CompletableFuture<>(),
                Duration.ofSeconds(10), options()));
    try {
      for (final RaftRequest request : List.of(vote, append)) {
        for (final int inFlight : List.of(1, 64)) {
          run(client, server.localAddress(), request, inFlight);
        }
      }
    } finally {
      client.close();
      server.close();
    }
  }

  private void run(final Transport client, final String address, final RaftRequest request,
      final int inFlight) throws Exception {
    final Semaphore window = new Semaphore(inFlight);
    final AtomicLong done = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final List<Long> perSecond = new ArrayList<>();
    final long start = System.nanoTime();
    long nextMark = start + TimeUnit.SECONDS.toNanos(1);
    long lastDone = 0;
    while (perSecond.size() < WARMUP_SECONDS + MEASURE_SECONDS) {
      if (!window.tryAcquire(1, TimeUnit.SECONDS)) {
        throw new AssertionError("no response within 1 s; done=" + done.get());
      }
      client.send(2, address, request).whenComplete((r, e) -> {
        if (e != null) {
          failed.incrementAndGet();
        }
        done.incrementAndGet();
        window.release();
      });
      final long now = System.nanoTime();
      if (now - nextMark >= 0) {
        final long d = done.get();
        perSecond.add(d - lastDone);
        lastDone = d;
        nextMark += TimeUnit.SECONDS.toNanos(1);
      }
    }
    window.acquire(inFlight);
    final List<Long> measured = perSecond.subList(WARMUP_SECONDS, perSecond.size());
    final long min = measured.stream().mapToLong(Long::longValue).min().orElse(0);
    final long max = measured.stream().mapToLong(Long::longValue).max().orElse(0);
    final double mean = measured.stream().mapToLong(Long::longValue).average().orElse(0);
    System.out.printf("%s round trips: request=%s inFlight=%d per-second timeline=%s -> after %d s warm-up:"
            + " mean=%.0f/s min=%d max=%d failed=%d%n",
        providerName(), request.kind(), inFlight, perSecond, WARMUP_SECONDS, mean, min, max, failed.get());
    assertThat(failed.get()).isZero();
  }
}
