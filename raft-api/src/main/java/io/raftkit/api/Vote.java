package io.raftkit.api;

/**
 * The durable vote of a node: the highest term it has seen and whom it voted for in that term.
 *
 * <p>{@code committed} is true once the voted-for node is known to have won the election (it is
 * the leader of {@code term}). A committed vote is never persisted as uncommitted again for the
 * same term. Only {@code term} and {@code votedFor} matter for safety.
 *
 * @param term the current term, {@code >= 0}
 * @param votedFor the node voted for in {@code term}, or {@code 0} for none
 * @param committed whether {@code votedFor} is the established leader of {@code term}
 */
public record Vote(long term, long votedFor, boolean committed) {

  /** The vote of a node that has never voted: term 0, nobody. */
  public static final Vote NONE = new Vote(0, 0, false);

  /** Validates the fields. */
  public Vote {
    if (term < 0) {
      throw new IllegalArgumentException("term=" + term + " must be >= 0");
    }
    if (votedFor < 0) {
      throw new IllegalArgumentException("votedFor=" + votedFor + " must be >= 0 (0 = nobody)");
    }
    if (committed && votedFor == 0) {
      throw new IllegalArgumentException("a committed vote needs a node, votedFor=0");
    }
  }

  /** Whether this vote is for a node in its term. */
  public boolean hasVoted() {
    return votedFor != 0;
  }

  @Override
  public String toString() {
    return "T" + term + (votedFor == 0 ? ":-" : ":" + votedFor) + (committed ? "*" : "");
  }
}
