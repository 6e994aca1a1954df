package io.raftkit.api.error;

/**
 * Storage failed or returned something impossible. The node stops: serving on after a failed
 * write could acknowledge data that is not durable, or corrupt the cluster.
 */
public final class FatalStorageException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message naming the operation and the cause. */
  public FatalStorageException(final String message, final Throwable cause) {
    super(ErrorCode.FATAL_STORAGE, message, cause);
  }

  /** Creates the error for a broken invariant found without an exception. */
  public FatalStorageException(final String message) {
    super(ErrorCode.FATAL_STORAGE, message);
  }
}
