package io.raftkit.api.message;

/**
 * The answer to a {@link VoteRequest}.
 *
 * @param term the voter's current term (unchanged by a pre-vote)
 * @param granted whether the vote (or pre-vote) is granted
 * @param preVote whether it answers a pre-vote
 */
public record VoteResponse(long term, boolean granted, boolean preVote) implements RaftResponse {

  @Override
  public Kind kind() {
    return Kind.VOTE;
  }
}
