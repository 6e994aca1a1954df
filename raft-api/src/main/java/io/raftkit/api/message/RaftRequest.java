package io.raftkit.api.message;

/** A request from one node to another. */
public sealed interface RaftRequest permits VoteRequest, AppendRequest, TimeoutNowRequest, InstallSnapshotRequest, ReadIndexRequest {

  /** The concrete request types, for exhaustive switches. */
  enum Kind {
    /** {@link VoteRequest}. */
    VOTE,
    /** {@link AppendRequest}. */
    APPEND,
    /** {@link TimeoutNowRequest}. */
    TIMEOUT_NOW,
    /** {@link InstallSnapshotRequest}. */
    INSTALL_SNAPSHOT,
    /** {@link ReadIndexRequest}. */
    READ_INDEX
  }

  /** Which request this is. */
  Kind kind();

  /** The sender's term. */
  long term();
}
