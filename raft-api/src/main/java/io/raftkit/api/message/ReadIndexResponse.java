package io.raftkit.api.message;

/**
 * The leader's answer to a {@link ReadIndexRequest}.
 *
 * @param term the responder's term
 * @param success whether the responder is the leader and confirmed it with a quorum round
 * @param readIndex on success, the commit index at the time the request arrived
 * @param leaderHint on failure, the leader the responder knows of, or 0
 */
public record ReadIndexResponse(long term, boolean success, long readIndex, long leaderHint) implements RaftResponse {

  /** Validates the fields. */
  public ReadIndexResponse {
    if (readIndex < 0 || leaderHint < 0) {
      throw new IllegalArgumentException("readIndex=" + readIndex + " and leaderHint=" + leaderHint + " must be >= 0");
    }
  }

  @Override
  public Kind kind() {
    return Kind.READ_INDEX;
  }
}
