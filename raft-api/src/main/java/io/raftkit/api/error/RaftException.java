package io.raftkit.api.error;

import java.util.Objects;

/** The root of every raftkit error. Unchecked: most surface through failed futures. */
public class RaftException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  /** Creates an error with a code and a message naming what was wrong. */
  public RaftException(final ErrorCode code, final String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** Creates an error with a code, a message and a cause. */
  public RaftException(final ErrorCode code, final String message, final Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** The stable code of this error. */
  public ErrorCode code() {
    return code;
  }
}
