package io.raftkit.api.message;

/** A response to a {@link RaftRequest}. */
public sealed interface RaftResponse permits VoteResponse, AppendResponse, TimeoutNowResponse {

  /** The concrete response types, for exhaustive switches. */
  enum Kind {
    /** {@link VoteResponse}. */
    VOTE,
    /** {@link AppendResponse}. */
    APPEND,
    /** {@link TimeoutNowResponse}. */
    TIMEOUT_NOW
  }

  /** Which response this is. */
  Kind kind();

  /** The responder's term. */
  long term();
}
