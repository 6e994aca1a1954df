package io.raftkit.api.message;

import io.raftkit.api.LogId;
import java.util.Objects;

/**
 * RequestVote (§5.2), or a pre-vote (§9.6 of Ongaro's thesis) that asks "would you vote for me in
 * {@code term}?" without changing anyone's term.
 *
 * @param term the term the candidate stands in (for a pre-vote: the term it would stand in)
 * @param candidateId the candidate
 * @param lastLogId the last entry of the candidate's log
 * @param preVote whether this is a pre-vote
 * @param leadershipTransfer whether the candidate campaigns because the leader told it to
 *     ({@link TimeoutNowRequest}): voters then grant even while they hear from that leader
 */
public record VoteRequest(
    long term, long candidateId, LogId lastLogId, boolean preVote, boolean leadershipTransfer)
    implements RaftRequest {

  /** A request of a candidate campaigning on its own (not a leadership transfer). */
  public VoteRequest(final long term, final long candidateId, final LogId lastLogId, final boolean preVote) {
    this(term, candidateId, lastLogId, preVote, false);
  }

  /** Validates the fields. */
  public VoteRequest {
    Objects.requireNonNull(lastLogId, "lastLogId");
    if (candidateId <= 0) {
      throw new IllegalArgumentException("candidateId=" + candidateId + " must be > 0");
    }
  }

  @Override
  public Kind kind() {
    return Kind.VOTE;
  }
}
