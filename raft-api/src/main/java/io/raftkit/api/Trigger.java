package io.raftkit.api;

import java.util.concurrent.CompletableFuture;

/** Actions a node takes on request rather than on its own timers. Thread-safe. */
public interface Trigger {

  /**
   * Starts an election now, skipping the pre-vote (a voter only).
   *
   * @return completes when the election has started; fails with {@link
   *     io.raftkit.api.error.NotAMemberException} if this node is not a voter
   */
  CompletableFuture<Void> elect();

  /**
   * Sends a heartbeat to every follower now (a leader only).
   *
   * @return completes when the heartbeats are sent; fails with {@link
   *     io.raftkit.api.error.NotLeaderException} on a non-leader
   */
  CompletableFuture<Void> heartbeat();
}
