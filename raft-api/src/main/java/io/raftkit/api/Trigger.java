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

  /**
   * Hands leadership over to {@code targetId} (thesis §3.10): this leader stops taking writes
   * (they fail with {@link io.raftkit.api.error.NotLeaderException} naming the target), brings the
   * target up to date, and tells it to campaign at once; the target wins without waiting for an
   * election timeout, since voters let a transfer through their leader lease.
   *
   * @return completes when this node sees {@code targetId} lead; fails with {@link
   *     io.raftkit.api.error.LeadershipTransferException} if that does not happen within twice the
   *     maximum election timeout (a lagging or dead target; this node then takes writes again),
   *     with {@link io.raftkit.api.error.NotLeaderException} on a non-leader, with {@link
   *     io.raftkit.api.error.InvalidRequestException} if the target is not a voter or another
   *     transfer is in progress
   */
  CompletableFuture<Void> transferLeader(long targetId);

  /**
   * Builds a snapshot of the state machine now, whatever the snapshot policy, then purges the
   * log behind it (keeping {@link Config#maxInSnapshotLogToKeep()} entries). Writes go on while
   * it is built.
   *
   * @return the snapshot's description once it is durable; if nothing was applied since the last
   *     snapshot, that snapshot's (at once); fails with {@link
   *     io.raftkit.api.error.InvalidRequestException} if nothing was applied yet or the state
   *     machine does not build snapshots, with {@link io.raftkit.api.error.FatalStorageException}
   *     naming the cause if it could not be written
   */
  CompletableFuture<SnapshotMeta> snapshot();

  /**
   * Purges the log up to and including index {@code upTo}, never beyond the last snapshot.
   *
   * @return completes once the engine has purged (the storage may free space later); fails with
   *     {@link io.raftkit.api.error.InvalidRequestException} if {@code upTo} is beyond the last
   *     snapshot or negative
   */
  CompletableFuture<Void> purgeLog(long upTo);
}
