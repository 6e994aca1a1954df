package io.raftkit.api;

import java.util.Objects;

/**
 * A membership together with the id of the log entry that holds it.
 *
 * @param logId the entry holding the membership; {@link LogId#ZERO} for the empty membership of
 *     an uninitialized node
 * @param membership the configuration, or {@code null} for an uninitialized node
 */
public record StoredMembership(LogId logId, Membership membership) {

  /** The membership of a node that was never initialized and has received no configuration. */
  public static final StoredMembership EMPTY = new StoredMembership(LogId.ZERO, null);

  /** Validates the fields. */
  public StoredMembership {
    Objects.requireNonNull(logId, "logId");
    if ((membership == null) != (logId.index() == 0)) {
      throw new IllegalArgumentException(
          "membership must be null exactly when logId is ZERO, logId=" + logId);
    }
  }

  /** Whether there is no membership yet. */
  public boolean isEmpty() {
    return membership == null;
  }
}
