package io.raftkit.api.message;

/** A request from one node to another. */
public sealed interface RaftRequest permits VoteRequest, AppendRequest {

  /** The concrete request types, for exhaustive switches. */
  enum Kind {
    /** {@link VoteRequest}. */
    VOTE,
    /** {@link AppendRequest}. */
    APPEND
  }

  /** Which request this is. */
  Kind kind();

  /** The sender's term. */
  long term();
}
