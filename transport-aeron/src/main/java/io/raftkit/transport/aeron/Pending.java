package io.raftkit.transport.aeron;

import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import java.util.concurrent.CompletableFuture;

/**
 * A request from {@link AeronTransport#send} until its response, failure or timeout. Created on
 * the caller's thread; after it is queued, only the agent thread touches {@link #handshake}.
 */
final class Pending {
  final long correlationId;
  final long targetId;
  final String address;
  final RaftRequest request;
  final CompletableFuture<RaftResponse> future;
  final long createdNanos;
  final long deadlineNanos;
  /** The encoded {@code WireFrame.Request}. */
  final byte[] body;
  /** The handshake it was sent under; agent thread only. */
  TransportAgent.Handshake handshake;

  Pending(
      final long correlationId,
      final long targetId,
      final String address,
      final RaftRequest request,
      final CompletableFuture<RaftResponse> future,
      final long createdNanos,
      final long deadlineNanos,
      final byte[] body) {
    this.correlationId = correlationId;
    this.targetId = targetId;
    this.address = address;
    this.request = request;
    this.future = future;
    this.createdNanos = createdNanos;
    this.deadlineNanos = deadlineNanos;
    this.body = body;
  }

  boolean isDone() {
    return future.isDone();
  }

  @Override
  public String toString() {
    return "Pending{correlationId=" + correlationId + ", targetId=" + targetId + ", address=" + address + "}";
  }
}
