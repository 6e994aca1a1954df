package io.raftkit.api.spi;

import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import java.util.concurrent.CompletableFuture;

/**
 * Receives the requests a transport gets from peers. Implemented by the engine's runtime.
 *
 * <p>{@link #handle} never blocks and never throws: it queues the request and returns a future
 * that the engine completes later, possibly on another thread.
 */
@FunctionalInterface
public interface RequestHandler {

  /**
   * Hands a request over to the node.
   *
   * @param fromNodeId the peer that sent it
   * @param request the request
   * @return the response, completed when the node has answered; failed if the node is closed
   */
  CompletableFuture<RaftResponse> handle(long fromNodeId, RaftRequest request);
}
