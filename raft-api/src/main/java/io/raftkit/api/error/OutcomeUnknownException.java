package io.raftkit.api.error;

/**
 * A write's outcome cannot be known here: its entry may or may not have been committed. It
 * happens when a node that took the write as leader lost leadership and then received a snapshot
 * covering the entry's index before applying it. The client should read to find out, or make the
 * write idempotent and retry.
 */
public final class OutcomeUnknownException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message naming the write and why its outcome is unknown. */
  public OutcomeUnknownException(final String message) {
    super(ErrorCode.OUTCOME_UNKNOWN, message);
  }
}
