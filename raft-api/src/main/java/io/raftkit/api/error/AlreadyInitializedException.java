package io.raftkit.api.error;

/** {@code initialize} was called on a node whose log or vote is not empty. */
public final class AlreadyInitializedException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message saying what the node already has. */
  public AlreadyInitializedException(final String message) {
    super(ErrorCode.ALREADY_INITIALIZED, message);
  }
}
