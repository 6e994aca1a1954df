package io.raftkit.api.error;

/**
 * A lease read was refused: the leader has not heard from a quorum recently enough to be sure no
 * other leader exists (or CheckQuorum is off, so a lease proves nothing). Retry with {@link
 * io.raftkit.api.ReadPolicy#READ_INDEX}, or later.
 */
public final class LeaseExpiredException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message giving the node and how old its lease is. */
  public LeaseExpiredException(final String message) {
    super(ErrorCode.LEASE_EXPIRED, message);
  }
}
