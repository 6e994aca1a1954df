package io.raftkit.api;

import java.util.Arrays;
import java.util.Objects;

/**
 * One log entry.
 *
 * <p>The payload array is owned by the entry once constructed: nobody may change it. Accessors
 * return it without copying, for speed.
 *
 * @param logId where the entry sits and which leader made it; never {@link LogId#ZERO}
 * @param kind what the payload holds
 * @param payload the bytes: a command for {@link EntryKind#NORMAL}, empty for {@link
 *     EntryKind#BLANK}, an encoded {@link Membership} for {@link EntryKind#MEMBERSHIP}
 */
public record Entry(LogId logId, EntryKind kind, byte[] payload) {

  private static final byte[] EMPTY = new byte[0];

  /** Validates the fields. */
  public Entry {
    Objects.requireNonNull(logId, "logId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(payload, "payload");
    if (logId.index() == 0) {
      throw new IllegalArgumentException("an entry needs index >= 1, logId=" + logId);
    }
    if (kind == EntryKind.BLANK && payload.length != 0) {
      throw new IllegalArgumentException("a blank entry has no payload, length=" + payload.length);
    }
  }

  /** A command entry. */
  public static Entry normal(final LogId logId, final byte[] payload) {
    return new Entry(logId, EntryKind.NORMAL, payload);
  }

  /** A blank entry. */
  public static Entry blank(final LogId logId) {
    return new Entry(logId, EntryKind.BLANK, EMPTY);
  }

  /** A membership entry. */
  public static Entry membership(final LogId logId, final Membership membership) {
    return new Entry(logId, EntryKind.MEMBERSHIP, membership.encode());
  }

  /** The index of this entry. */
  public long index() {
    return logId.index();
  }

  /** The term of this entry. */
  public long term() {
    return logId.term();
  }

  /**
   * The membership this entry holds.
   *
   * @throws IllegalStateException if this is not a membership entry
   */
  public Membership membership() {
    if (kind != EntryKind.MEMBERSHIP) {
      throw new IllegalStateException("entry " + logId + " is " + kind + ", not MEMBERSHIP");
    }
    return Membership.decode(payload);
  }

  @Override
  public boolean equals(final Object o) {
    return o instanceof Entry e
        && logId.equals(e.logId)
        && kind == e.kind
        && Arrays.equals(payload, e.payload);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * logId.hashCode() + kind.hashCode()) + Arrays.hashCode(payload);
  }

  @Override
  public String toString() {
    return "Entry{" + logId + " " + kind + " " + payload.length + "B}";
  }
}
