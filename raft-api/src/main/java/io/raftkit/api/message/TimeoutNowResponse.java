package io.raftkit.api.message;

/**
 * The answer to a {@link TimeoutNowRequest}.
 *
 * @param term the follower's term
 * @param accepted whether it started an election
 */
public record TimeoutNowResponse(long term, boolean accepted) implements RaftResponse {

  @Override
  public Kind kind() {
    return Kind.TIMEOUT_NOW;
  }
}
