package io.raftkit.api.message;

/** A response to a {@link RaftRequest}. */
public sealed interface RaftResponse permits VoteResponse, AppendResponse, TimeoutNowResponse, InstallSnapshotResponse, ReadIndexResponse {

  /** The concrete response types, for exhaustive switches. */
  enum Kind {
    /** {@link VoteResponse}. */
    VOTE,
    /** {@link AppendResponse}. */
    APPEND,
    /** {@link TimeoutNowResponse}. */
    TIMEOUT_NOW,
    /** {@link InstallSnapshotResponse}. */
    INSTALL_SNAPSHOT,
    /** {@link ReadIndexResponse}. */
    READ_INDEX
  }

  /** Which response this is. */
  Kind kind();

  /** The responder's term. */
  long term();
}
