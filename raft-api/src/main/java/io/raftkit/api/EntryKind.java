package io.raftkit.api;

/**
 * What a log entry holds. The {@link #code()} is what storage and the wire persist: it never
 * changes for an existing kind.
 */
public enum EntryKind {
  /** An application command, applied by the {@link io.raftkit.api.spi.StateMachine}. */
  NORMAL(0),
  /** An empty entry a new leader appends to commit the entries of earlier terms (§5.4.2). */
  BLANK(1),
  /** A cluster configuration: the payload is {@link Membership#encode()}. */
  MEMBERSHIP(2);

  private static final EntryKind[] BY_CODE = values();

  private final int code;

  EntryKind(final int code) {
    if (code != ordinal()) {
      throw new IllegalStateException("code=" + code + " must equal ordinal=" + ordinal());
    }
    this.code = code;
  }

  /** The stable code persisted for this kind. */
  public int code() {
    return code;
  }

  /**
   * The kind with the given code.
   *
   * @throws IllegalArgumentException if no kind has that code
   */
  public static EntryKind fromCode(final int code) {
    if (code < 0 || code >= BY_CODE.length) {
      throw new IllegalArgumentException("unknown entry kind code=" + code);
    }
    return BY_CODE[code];
  }
}
