package io.raftkit.wire;

import java.io.IOException;

/**
 * Bytes that are not a valid raftkit frame: truncated, corrupted, or describing a message that
 * breaks a raft-api rule (such as a negative term or non-consecutive entries). The receiver
 * should log it and drop the input (a stream transport closes the connection: it cannot find the
 * next frame boundary it trusts).
 */
public final class WireFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the error.
   *
   * @param message what is wrong, as name=value pairs
   * @param cause the parser's or validator's error, or {@code null}
   */
  public WireFormatException(final String message, final Throwable cause) {
    super(message, cause);
  }
}
