package io.raftkit.transport.netty;

import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import java.util.concurrent.CompletableFuture;

/**
 * A request waiting for its response.
 *
 * @param correlationId pairs the response with the request
 * @param request the request
 * @param future completed with the response or failed
 * @param deadlineNanos when the RPC timeout fails it, in {@link System#nanoTime()} terms
 * @param writer the connection attempt it was queued on, so a failure of that connection fails
 *     only its own requests
 */
record Pending(
    long correlationId,
    RaftRequest request,
    CompletableFuture<RaftResponse> future,
    long deadlineNanos,
    FrameWriter writer) {

  boolean isDone() {
    return future.isDone();
  }
}
