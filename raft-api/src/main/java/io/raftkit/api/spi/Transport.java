package io.raftkit.api.spi;

import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import java.util.concurrent.CompletableFuture;

/**
 * Carries requests to peers and serves requests from them.
 *
 * <p><b>Contract:</b> {@link #send} never blocks and never throws; every failure (peer down,
 * connection refused, timeout after {@link TransportContext#rpcTimeout()}, transport closed) comes
 * back as a future failed with {@link io.raftkit.api.error.UnreachableException} or {@link
 * io.raftkit.api.error.ShutdownException}. Messages may be lost, delayed or reordered: Raft
 * tolerates it. Futures may complete on any thread; the engine only queues an event there.
 *
 * <p>Thread-safe: {@link #send} may be called from any thread.
 */
public interface Transport extends AutoCloseable {

  /** The address peers reach this node at (the bound address, with a real port if 0 was asked). */
  String localAddress();

  /**
   * Sends a request to a peer.
   *
   * @param targetId the peer's node id
   * @param targetAddress the peer's address, in this provider's syntax
   * @param request the request
   * @return the peer's response, or a failure
   */
  CompletableFuture<RaftResponse> send(long targetId, String targetAddress, RaftRequest request);

  /** Stops serving, fails every pending request, and releases resources. Idempotent. */
  @Override
  void close();
}
