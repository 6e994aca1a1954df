package io.raftkit.testkit.lincheck;

import java.util.Objects;

/**
 * The sequential specification of a key-value register per key: put, get and compare-and-set of
 * {@code long} values. The state of a partition is the key's value ({@code null} when absent).
 */
public final class KvModel implements Model<Long, KvModel.Input, KvModel.Output> {

  /** The single instance. */
  public static final KvModel INSTANCE = new KvModel();

  private KvModel() {}

  /** The kinds of operation. */
  public enum Kind {
    /** Set the key to a value. */
    PUT,
    /** Read the key. */
    GET,
    /** Set the key to {@code value} if it holds {@code expected} ({@code null}: absent). */
    CAS
  }

  /**
   * An operation's input.
   *
   * @param kind what to do
   * @param key the key
   * @param value the value to write (PUT, CAS)
   * @param expected the value expected (CAS); {@code null} means absent
   */
  public record Input(Kind kind, String key, Long value, Long expected) {
    /** Validates the fields. */
    public Input {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(key, "key");
      if (kind != Kind.GET && value == null) {
        throw new IllegalArgumentException(kind + " needs a value");
      }
    }

    /** A put. */
    public static Input put(final String key, final long value) {
      return new Input(Kind.PUT, key, value, null);
    }

    /** A get. */
    public static Input get(final String key) {
      return new Input(Kind.GET, key, null, null);
    }

    /** A compare-and-set. */
    public static Input cas(final String key, final Long expected, final long value) {
      return new Input(Kind.CAS, key, value, expected);
    }
  }

  /**
   * An operation's output.
   *
   * @param ok for CAS whether it swapped; true for PUT and GET
   * @param value for GET the value read ({@code null}: absent); else {@code null}
   */
  public record Output(boolean ok, Long value) {
    /** The output of a put. */
    public static final Output PUT_OK = new Output(true, null);

    /** The output of a get. */
    public static Output read(final Long value) {
      return new Output(true, value);
    }

    /** The output of a compare-and-set. */
    public static Output cas(final boolean swapped) {
      return new Output(swapped, null);
    }
  }

  @Override
  public Long initialState() {
    return null;
  }

  @Override
  public Step<Long, Output> apply(final Long state, final Input in) {
    return switch (in.kind()) {
      case PUT -> new Step<>(in.value(), Output.PUT_OK);
      case GET -> new Step<>(state, Output.read(state));
      case CAS -> Objects.equals(state, in.expected())
          ? new Step<>(in.value(), Output.cas(true))
          : new Step<>(state, Output.cas(false));
    };
  }

  @Override
  public String partition(final Input input) {
    return input.key();
  }
}
