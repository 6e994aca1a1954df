package io.raftkit.testkit.local;

import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;

/**
 * The transport of one node on a {@link Network}. {@link #send} never blocks and never throws: it
 * registers the request as pending with its deadline and hands it to the network. Thread-safe.
 *
 * <p><b>RPC timeouts</b> are found by one periodic sweep per transport on the network's scheduler
 * (every eighth of the RPC timeout, 1 to 50 ms), not by a timer per request: arming and cancelling
 * a timer per RPC took the scheduler's lock twice and woke its thread whenever the queue was empty,
 * which made up a good part of a one-client round trip. A request therefore fails up to one sweep
 * period after its timeout.
 */
final class LocalTransport implements Transport {

  private final Network network;
  private final TransportContext context;
  private final ConcurrentHashMap<CompletableFuture<RaftResponse>, Pending> pending = new ConcurrentHashMap<>();
  private final ScheduledFuture<?> sweeper;
  private volatile boolean closed;

  /** A request waiting for its response. */
  private record Pending(long deadline, long targetId, String targetAddress, RaftRequest request) {}

  LocalTransport(final Network network, final TransportContext context) {
    this.network = network;
    this.context = context;
    final long period = Math.max(1_000_000L, Math.min(context.rpcTimeout().toNanos() / 8, 50_000_000L));
    this.sweeper = network.scheduleRepeating(this::failExpired, period);
  }

  /** Fails the requests past their deadline (the network's scheduler thread). */
  private void failExpired() {
    final long now = System.nanoTime();
    for (final Map.Entry<CompletableFuture<RaftResponse>, Pending> e : pending.entrySet()) {
      final Pending p = e.getValue();
      if (now - p.deadline() >= 0) {
        e.getKey().completeExceptionally(
            new UnreachableException(
                "no response from targetId=" + p.targetId() + " at address=" + p.targetAddress()
                    + " within rpcTimeout=" + context.rpcTimeout().toMillis() + "ms to request=" + p.request()));
      }
    }
  }

  long nodeId() {
    return context.nodeId();
  }

  String clusterId() {
    return context.clusterId();
  }

  RequestHandler handler() {
    return context.handler();
  }

  boolean isClosed() {
    return closed;
  }

  /** {@inheritDoc} */
  @Override
  public String localAddress() {
    return context.bindAddress();
  }

  /**
   * {@inheritDoc}
   *
   * <p>The future fails with {@link UnreachableException} if the target is not bound, is in
   * another cluster, a link on the way is cut, its handler fails, or no response comes within the
   * RPC timeout; with {@link ShutdownException} if this transport is or gets closed first.
   */
  @Override
  public CompletableFuture<RaftResponse> send(
      final long targetId, final String targetAddress, final RaftRequest request) {
    final CompletableFuture<RaftResponse> result = new CompletableFuture<>();
    try {
      if (request == null || targetAddress == null) {
        result.completeExceptionally(
            new UnreachableException(
                "nodeId=" + nodeId() + " cannot send request=" + request + " to address=" + targetAddress));
        return result;
      }
      if (closed) {
        result.completeExceptionally(shutdown(request));
        return result;
      }
      pending.put(result, new Pending(System.nanoTime() + context.rpcTimeout().toNanos(), targetId, targetAddress,
          request));
      result.whenComplete((r, e) -> pending.remove(result));
      if (closed) {
        // close() may have run between the check above and pending.add.
        result.completeExceptionally(shutdown(request));
        return result;
      }
      network.send(this, targetId, targetAddress, request, result);
    } catch (final RejectedExecutionException e) {
      pending.remove(result);
      result.completeExceptionally(new ShutdownException("network=" + network.name() + " is closed", e));
    } catch (final RuntimeException e) {
      pending.remove(result);
      result.completeExceptionally(
          new UnreachableException("sending request=" + request + " to targetId=" + targetId + " failed: " + e, e));
    }
    return result;
  }

  /** Unbinds the address and fails every pending request with {@link ShutdownException}. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    sweeper.cancel(false);
    network.unbind(this);
    for (final CompletableFuture<RaftResponse> f : new ArrayList<>(pending.keySet())) {
      f.completeExceptionally(
          new ShutdownException("transport of nodeId=" + nodeId() + " at address=" + localAddress() + " is closed"));
    }
  }

  private ShutdownException shutdown(final RaftRequest request) {
    return new ShutdownException(
        "transport of nodeId=" + nodeId() + " at address=" + localAddress() + " is closed; request=" + request
            + " not sent");
  }

  @Override
  public String toString() {
    return "LocalTransport{nodeId=" + nodeId() + ", address=" + localAddress() + ", network=" + network.name() + "}";
  }
}
