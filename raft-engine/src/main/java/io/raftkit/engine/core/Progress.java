package io.raftkit.engine.core;

/**
 * A leader's view of one follower's replication (§5.3, with the probe/pipeline modes of etcd).
 *
 * <p>In probe mode one append is in flight, to find where the logs match; after the first success
 * the follower moves to pipeline mode, where up to {@code maxInflightAppends} appends are in
 * flight. Any failure returns it to probe mode and starts a new epoch: responses to appends of an
 * earlier epoch still raise {@link #matchIndex} but no longer count against the window.
 */
final class Progress {
  final long nodeId;
  /** The highest index known to match the leader's log and be durable on the follower. */
  long matchIndex;
  /** The next index to send. */
  long nextIndex;
  /** Appends of the current epoch in flight. */
  int inflight;
  /** Incremented when in-flight appends are abandoned (conflict, failure). */
  long epoch;
  boolean pipeline;
  /** A snapshot is being streamed to this follower: no appends until it ends. */
  boolean snapshotting;
  /** The commit index last sent. */
  long sentCommit;
  /**
   * When a commit-only append is due, the follower having nothing in flight to carry a newer
   * commit index ({@code Long.MAX_VALUE}: none pending); see {@code Config.commitLinger}.
   */
  long commitDueNanos = Long.MAX_VALUE;
  /** When the follower last answered (any answer in the leader's term). */
  long lastAckNanos;
  /** No appends are sent before this time, after a failure; heartbeats still are. */
  long backoffUntilNanos;
  /** The latest heartbeat round this follower answered in the leader's term. */
  long ackedRound;

  Progress(final long nodeId, final long nextIndex, final long nowNanos) {
    this.nodeId = nodeId;
    this.nextIndex = nextIndex;
    this.lastAckNanos = nowNanos;
  }

  /** Abandons what is in flight and goes back to probing from {@code next}. */
  void reset(final long next) {
    epoch++;
    inflight = 0;
    pipeline = false;
    nextIndex = Math.max(matchIndex + 1, next);
  }

  @Override
  public String toString() {
    return "Progress{node=" + nodeId + " match=" + matchIndex + " next=" + nextIndex + " inflight="
        + inflight + (pipeline ? " pipeline" : " probe") + " epoch=" + epoch + "}";
  }
}
