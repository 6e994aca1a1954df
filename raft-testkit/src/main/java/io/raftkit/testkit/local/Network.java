package io.raftkit.testkit.local;

import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.TransportContext;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One in-JVM network: the transports bound in it, by address, and its faults. Public only so that
 * {@link io.raftkit.testkit.LocalNetwork} can reach it; this package is not exported.
 *
 * <p><b>Delivery.</b> A request goes from the sender's node to the node bound at the target
 * address; the target's handler is called on the sender's thread, or on the network's scheduler
 * thread if the link is delayed. Its response comes back the same way. A link is checked when a
 * message leaves and again when it arrives, so cutting a link also drops what is in the air.
 *
 * <p><b>Threading.</b> Thread-safe: faults live in concurrent sets and maps and may be changed by a
 * test while nodes send. One daemon thread per network runs delayed deliveries and RPC timeouts;
 * tasks with the same delay run in the order they were scheduled, so a delayed link stays FIFO.
 */
public final class Network {

  private static final Logger LOG = LoggerFactory.getLogger(Network.class);
  private static final ConcurrentMap<String, Network> NETWORKS = new ConcurrentHashMap<>();
  private static final AtomicLong COUNTER = new AtomicLong();

  private final String name;
  private final ConcurrentMap<String, LocalTransport> byAddress = new ConcurrentHashMap<>();
  private final Set<Link> cuts = ConcurrentHashMap.newKeySet();
  private final Set<Long> isolated = ConcurrentHashMap.newKeySet();
  private final ConcurrentMap<Link, Long> delayNanos = new ConcurrentHashMap<>();
  private final ScheduledThreadPoolExecutor scheduler;
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final java.util.concurrent.ConcurrentHashMap<Long, AtomicLong> droppedFrom =
      new java.util.concurrent.ConcurrentHashMap<>();
  private volatile boolean closed;
  private volatile io.raftkit.testkit.LocalNetwork.RequestFilter filter;

  /**
   * Sets the filter every request passes before it travels, or removes it ({@code null}).
   *
   * @param filter the filter, or null
   */
  public void filter(final io.raftkit.testkit.LocalNetwork.RequestFilter filter) {
    this.filter = filter;
  }

  /** One direction between two nodes. */
  private record Link(long from, long to) {}

  private Network(final String name) {
    this.name = name;
    this.scheduler =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              final Thread t = new Thread(r, "raftkit-local-" + name);
              t.setDaemon(true);
              return t;
            });
    // Delayed deliveries and sweeps can be cancelled: drop cancelled tasks at once.
    scheduler.setRemoveOnCancelPolicy(true);
    scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  /**
   * Creates and registers a network with a name unique in this JVM.
   *
   * @return the network
   */
  public static Network create() {
    final Network network = new Network("local-" + COUNTER.incrementAndGet());
    NETWORKS.put(network.name, network);
    return network;
  }

  /**
   * The open network of that name, if any.
   *
   * @param name the network's name
   * @return the network, or empty
   */
  public static Optional<Network> lookup(final String name) {
    return Optional.ofNullable(NETWORKS.get(name));
  }

  /**
   * The names of the open networks, sorted.
   *
   * @return the names
   */
  public static List<String> names() {
    return List.copyOf(new TreeSet<>(NETWORKS.keySet()));
  }

  /**
   * The network's name, the value of the {@code local.network} option.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * The addresses bound now, sorted.
   *
   * @return the addresses
   */
  public List<String> addresses() {
    return List.copyOf(new TreeSet<>(byAddress.keySet()));
  }

  /**
   * Cuts one direction.
   *
   * @param from the sending node
   * @param to the receiving node
   */
  public void cut(final long from, final long to) {
    cuts.add(new Link(from, to));
  }

  /**
   * Removes the cut of one direction (not an isolation, not a delay).
   *
   * @param from the sending node
   * @param to the receiving node
   */
  public void heal(final long from, final long to) {
    cuts.remove(new Link(from, to));
  }

  /**
   * Cuts every link to and from a node, including to nodes that join later.
   *
   * @param nodeId the node
   */
  public void isolate(final long nodeId) {
    isolated.add(nodeId);
  }

  /**
   * Undoes {@link #isolate}; cuts of single links stay.
   *
   * @param nodeId the node
   */
  public void rejoin(final long nodeId) {
    isolated.remove(nodeId);
  }

  /** Removes every cut, isolation and delay. */
  public void heal() {
    cuts.clear();
    isolated.clear();
    delayNanos.clear();
  }

  /**
   * Delays every message of one direction; zero removes the delay.
   *
   * @param from the sending node
   * @param to the receiving node
   * @param delay how long each message takes, not negative
   */
  public void delay(final long from, final long to, final Duration delay) {
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay=" + delay + " of link " + from + "->" + to + " must not be negative");
    }
    if (delay.isZero()) {
      delayNanos.remove(new Link(from, to));
    } else {
      delayNanos.put(new Link(from, to), delay.toNanos());
    }
  }

  /**
   * Whether messages from {@code from} to {@code to} are dropped now.
   *
   * @param from the sending node
   * @param to the receiving node
   * @return whether the direction is cut, or either node isolated
   */
  public boolean isCut(final long from, final long to) {
    if (cuts.isEmpty() && isolated.isEmpty()) {
      return false;
    }
    return isolated.contains(from) || isolated.contains(to) || cuts.contains(new Link(from, to));
  }

  /**
   * How many requests reached a handler.
   *
   * @return the count
   */
  public long delivered() {
    return delivered.get();
  }

  /**
   * How many requests and responses a cut dropped.
   *
   * @return the count
   */
  public long dropped() {
    return dropped.get();
  }

  /**
   * How many messages (requests or responses) sent by {@code nodeId} a cut dropped.
   *
   * @param nodeId the sender
   * @return the count
   */
  public long droppedFrom(final long nodeId) {
    final AtomicLong n = droppedFrom.get(nodeId);
    return n == null ? 0 : n.get();
  }

  /**
   * Closes every transport bound here (failing their pending requests), stops the scheduler and
   * forgets the network. Idempotent.
   */
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    NETWORKS.remove(name, this);
    for (final LocalTransport t : new ArrayList<>(byAddress.values())) {
      t.close();
    }
    scheduler.shutdownNow();
  }

  @Override
  public String toString() {
    return "Network{name=" + name + ", addresses=" + addresses() + ", cuts=" + cuts + ", isolated=" + isolated
        + ", delays=" + delayNanos + "}";
  }

  // ------------------------------------------------------------------ used by LocalTransport

  LocalTransport bind(final TransportContext context) throws IOException {
    if (closed) {
      throw new IOException("network=" + name + " is closed; cannot bind address=" + context.bindAddress());
    }
    final LocalTransport transport;
    try {
      transport = new LocalTransport(this, context);
    } catch (final java.util.concurrent.RejectedExecutionException e) {
      throw new IOException("network=" + name + " is closed; cannot bind address=" + context.bindAddress(), e);
    }
    final LocalTransport existing = byAddress.putIfAbsent(context.bindAddress(), transport);
    if (existing != null) {
      transport.close(); // stops its timeout sweep; the address stays the existing one's
      throw new IOException(
          "address=" + context.bindAddress() + " is already bound in network=" + name + " by nodeId="
              + existing.nodeId() + " (nodeId=" + context.nodeId() + " asked for it)");
    }
    return transport;
  }

  void unbind(final LocalTransport transport) {
    byAddress.remove(transport.localAddress(), transport);
  }

  /**
   * Runs {@code task} after {@code delayNanos} on the scheduler thread.
   *
   * @throws java.util.concurrent.RejectedExecutionException if the network is closed
   */
  ScheduledFuture<?> schedule(final Runnable task, final long nanos) {
    return scheduler.schedule(task, nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Runs {@code task} every {@code periodNanos} on the scheduler thread until cancelled.
   *
   * @throws java.util.concurrent.RejectedExecutionException if the network is closed
   */
  ScheduledFuture<?> scheduleRepeating(final Runnable task, final long periodNanos) {
    return scheduler.scheduleAtFixedRate(task, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  /** Starts delivering a request; every outcome ends in {@code result}. Never throws. */
  void send(
      final LocalTransport sender,
      final long targetId,
      final String targetAddress,
      final RaftRequest request,
      final CompletableFuture<RaftResponse> result) {
    final LocalTransport target = byAddress.get(targetAddress);
    final long from = sender.nodeId();
    if (target == null) {
      result.completeExceptionally(
          new UnreachableException(
              "no node at address=" + targetAddress + " in network=" + name + " (down or never started); from nodeId="
                  + from + " to targetId=" + targetId));
      return;
    }
    if (!target.clusterId().equals(sender.clusterId())) {
      result.completeExceptionally(
          new UnreachableException(
              "refused: node at address=" + targetAddress + " is in clusterId=" + target.clusterId()
                  + " but sender nodeId=" + from + " is in clusterId=" + sender.clusterId()));
      return;
    }
    if (target.nodeId() != targetId) {
      result.completeExceptionally(
          new UnreachableException(
              "address=" + targetAddress + " in network=" + name + " is nodeId=" + target.nodeId() + ", not targetId="
                  + targetId));
      return;
    }
    final io.raftkit.testkit.LocalNetwork.RequestFilter f = filter;
    if (f != null && !f.deliver(from, targetId, request)) {
      dropped.incrementAndGet();
      droppedFrom.computeIfAbsent(from, k -> new AtomicLong()).incrementAndGet();
      result.completeExceptionally(new UnreachableException(
          "request=" + request + " from nodeId=" + from + " to nodeId=" + targetId + " dropped by the test's filter"));
      return;
    }
    travel(from, targetId, result, () -> handOver(sender, target, request, result));
  }

  /**
   * Moves a message along {@code from -> to}: drops it (failing {@code result}) if the link is cut
   * when it leaves or when it arrives; otherwise runs {@code arrive} now or after the link's delay.
   */
  private void travel(
      final long from, final long to, final CompletableFuture<RaftResponse> result, final Runnable arrive) {
    if (dropIfCut(from, to, result, "left")) {
      return;
    }
    final Long delay = delayNanos.isEmpty() ? null : delayNanos.get(new Link(from, to));
    if (delay == null) {
      arrive.run();
      return;
    }
    schedule(
        () -> {
          if (!dropIfCut(from, to, result, "was in the air")) {
            arrive.run();
          }
        },
        delay);
  }

  private boolean dropIfCut(
      final long from, final long to, final CompletableFuture<RaftResponse> result, final String when) {
    if (!isCut(from, to)) {
      return false;
    }
    dropped.incrementAndGet();
    droppedFrom.computeIfAbsent(from, k -> new AtomicLong()).incrementAndGet();
    result.completeExceptionally(
        new UnreachableException(
            "link nodeId=" + from + " -> nodeId=" + to + " is cut in network=" + name + ": message dropped when it "
                + when));
    return true;
  }

  private void handOver(
      final LocalTransport sender,
      final LocalTransport target,
      final RaftRequest request,
      final CompletableFuture<RaftResponse> result) {
    if (result.isDone()) {
      return; // timed out or sender closed while the request was in the air
    }
    if (target.isClosed()) {
      result.completeExceptionally(
          new UnreachableException(
              "nodeId=" + target.nodeId() + " at address=" + target.localAddress() + " closed before request="
                  + request + " arrived"));
      return;
    }
    final CompletableFuture<RaftResponse> response;
    try {
      response = target.handler().handle(sender.nodeId(), request);
    } catch (final RuntimeException e) {
      LOG.warn("handler of nodeId={} threw on request={} from nodeId={}", target.nodeId(), request, sender.nodeId(), e);
      result.completeExceptionally(
          new UnreachableException("nodeId=" + target.nodeId() + " failed to take request=" + request + ": " + e, e));
      return;
    }
    delivered.incrementAndGet();
    if (response == null) {
      result.completeExceptionally(
          new UnreachableException("handler of nodeId=" + target.nodeId() + " returned no future for " + request));
      return;
    }
    // Not whenCompleteAsync: the continuation runs on whichever thread completes the response.
    response.whenComplete(
        (answer, error) -> {
          if (error != null) {
            final Throwable cause = error instanceof CompletionException && error.getCause() != null
                ? error.getCause()
                : error;
            result.completeExceptionally(
                new UnreachableException(
                    "nodeId=" + target.nodeId() + " did not answer request=" + request + ": " + cause, cause));
            return;
          }
          travel(target.nodeId(), sender.nodeId(), result, () -> result.complete(answer));
        });
  }
}
