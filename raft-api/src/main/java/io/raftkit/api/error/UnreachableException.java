package io.raftkit.api.error;

/** A peer could not be reached, or it did not answer within the RPC timeout. */
public final class UnreachableException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error naming the peer and why. */
  public UnreachableException(final String message) {
    super(ErrorCode.UNREACHABLE, message);
  }

  /** Creates the error with a cause. */
  public UnreachableException(final String message, final Throwable cause) {
    super(ErrorCode.UNREACHABLE, message, cause);
  }
}
