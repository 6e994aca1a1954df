package io.raftkit.api.message;

/**
 * TimeoutNow (§3.10 of Ongaro's thesis): the leader tells an up-to-date follower to start an
 * election at once, to hand leadership over to it.
 *
 * @param term the leader's term
 * @param leaderId the leader
 */
public record TimeoutNowRequest(long term, long leaderId) implements RaftRequest {

  /** Validates the fields. */
  public TimeoutNowRequest {
    if (leaderId <= 0) {
      throw new IllegalArgumentException("leaderId=" + leaderId + " must be > 0");
    }
  }

  @Override
  public Kind kind() {
    return Kind.TIMEOUT_NOW;
  }
}
