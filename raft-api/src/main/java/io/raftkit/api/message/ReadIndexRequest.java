package io.raftkit.api.message;

/**
 * A follower or learner asks the leader for a read index (§6.4 of Ongaro's thesis), to serve a
 * linearizable read from its own state machine once it has applied up to that index.
 *
 * @param term the asking node's term
 * @param fromId the asking node
 */
public record ReadIndexRequest(long term, long fromId) implements RaftRequest {

  /** Validates the fields. */
  public ReadIndexRequest {
    if (fromId <= 0) {
      throw new IllegalArgumentException("fromId=" + fromId + " must be > 0");
    }
  }

  @Override
  public Kind kind() {
    return Kind.READ_INDEX;
  }
}
