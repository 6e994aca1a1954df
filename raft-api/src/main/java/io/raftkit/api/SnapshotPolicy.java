package io.raftkit.api;

/**
 * When a node builds a snapshot of its state machine on its own: every {@code n} entries applied
 * since the last snapshot, or never. {@link Trigger#snapshot()} builds one on demand whatever the
 * policy.
 *
 * @param logsSinceLast build a snapshot once this many entries were applied since the last one;
 *     {@code 0} means never
 */
public record SnapshotPolicy(long logsSinceLast) {

  /** Never build a snapshot on its own. */
  public static final SnapshotPolicy NEVER = new SnapshotPolicy(0);

  /**
   * Validates the field.
   *
   * @throws IllegalArgumentException if {@code logsSinceLast} is negative
   */
  public SnapshotPolicy {
    if (logsSinceLast < 0) {
      throw new IllegalArgumentException("logsSinceLast=" + logsSinceLast + " must be >= 0 (0 = never)");
    }
  }

  /** A snapshot every {@code n} applied entries; {@code n >= 1}. */
  public static SnapshotPolicy logsSinceLast(final long n) {
    if (n < 1) {
      throw new IllegalArgumentException("logsSinceLast=" + n + " must be >= 1; use SnapshotPolicy.NEVER for none");
    }
    return new SnapshotPolicy(n);
  }

  /** Whether the policy never builds a snapshot on its own. */
  public boolean isNever() {
    return logsSinceLast == 0;
  }

  @Override
  public String toString() {
    return isNever() ? "never" : "logsSinceLast(" + logsSinceLast + ")";
  }
}
