package io.raftkit.api.error;

/** The node is closed, or a fatal error stopped it. */
public final class ShutdownException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message saying what was refused or abandoned. */
  public ShutdownException(final String message) {
    super(ErrorCode.SHUTDOWN, message);
  }

  /** Creates the error with the cause that stopped the node. */
  public ShutdownException(final String message, final Throwable cause) {
    super(ErrorCode.SHUTDOWN, message, cause);
  }
}
