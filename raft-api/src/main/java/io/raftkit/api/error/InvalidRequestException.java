package io.raftkit.api.error;

/** A request's argument is invalid; the message names it and the rule it broke. */
public final class InvalidRequestException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error. */
  public InvalidRequestException(final String message) {
    super(ErrorCode.INVALID_ARGUMENT, message);
  }
}
