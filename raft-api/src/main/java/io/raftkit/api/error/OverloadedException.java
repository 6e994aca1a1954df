package io.raftkit.api.error;

/** The node has too many writes in progress. Retry after some complete. */
public final class OverloadedException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message giving the limit. */
  public OverloadedException(final String message) {
    super(ErrorCode.OVERLOADED, message);
  }
}
