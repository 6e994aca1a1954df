package io.raftkit.testkit.lincheck;

import java.util.Objects;

/**
 * One operation of a history: when it was invoked, when it returned and what it returned, or
 * that its outcome is unknown (the client timed out or crashed: it may or may not have taken
 * effect, at any time after its invocation).
 *
 * @param client who ran it (for messages)
 * @param callNanos when it was invoked
 * @param returnNanos when it returned; {@link Long#MAX_VALUE} if unknown
 * @param input what it asked
 * @param output what it returned; {@code null} if unknown
 * @param <I> the input type
 * @param <O> the output type
 */
public record Operation<I, O>(int client, long callNanos, long returnNanos, I input, O output) {

  /** Validates the fields. */
  public Operation {
    Objects.requireNonNull(input, "input");
    if (returnNanos < callNanos) {
      throw new IllegalArgumentException("returnNanos=" + returnNanos + " < callNanos=" + callNanos);
    }
    if ((output == null) != (returnNanos == Long.MAX_VALUE)) {
      throw new IllegalArgumentException("an operation has an output exactly when it returned: " + input);
    }
  }

  /** An operation that returned. */
  public static <I, O> Operation<I, O> completed(
      final int client, final long callNanos, final long returnNanos, final I input, final O output) {
    return new Operation<>(client, callNanos, returnNanos, input, Objects.requireNonNull(output, "output"));
  }

  /** An operation whose outcome is unknown. */
  public static <I, O> Operation<I, O> unknown(final int client, final long callNanos, final I input) {
    return new Operation<>(client, callNanos, Long.MAX_VALUE, input, null);
  }

  /** Whether the outcome is unknown. */
  public boolean isUnknown() {
    return output == null;
  }
}
