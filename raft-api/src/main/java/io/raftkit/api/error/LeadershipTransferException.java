package io.raftkit.api.error;

/** A leadership transfer did not complete in time; the old leader resumed. */
public final class LeadershipTransferException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error naming the target and the time allowed. */
  public LeadershipTransferException(final String message) {
    super(ErrorCode.TRANSFER_FAILED, message);
  }
}
