package io.raftkit.testkit.local;

import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;

/**
 * The transport of one node on a {@link Network}. {@link #send} never blocks and never throws: it
 * registers the request as pending, arms its RPC timeout on the network's scheduler and hands it
 * to the network. Thread-safe.
 */
final class LocalTransport implements Transport {

  private final Network network;
  private final TransportContext context;
  private final Set<CompletableFuture<RaftResponse>> pending = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  LocalTransport(final Network network, final TransportContext context) {
    this.network = network;
    this.context = context;
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
      pending.add(result);
      final ScheduledFuture<?> timeout =
          network.schedule(
              () ->
                  result.completeExceptionally(
                      new UnreachableException(
                          "no response from targetId=" + targetId + " at address=" + targetAddress
                              + " within rpcTimeout=" + context.rpcTimeout().toMillis() + "ms to request=" + request)),
              context.rpcTimeout().toNanos());
      result.whenComplete(
          (r, e) -> {
            pending.remove(result);
            timeout.cancel(false);
          });
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
    network.unbind(this);
    for (final CompletableFuture<RaftResponse> f : new ArrayList<>(pending)) {
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
