package io.raftkit.testkit.lincheck;

/**
 * The verdict on a history.
 *
 * @param verdict linearizable, not, or undecided within the time limit
 * @param partition the first partition that is not linearizable (or undecided), or {@code null}
 * @param detail what went wrong, for a failure message
 */
public record CheckResult(Verdict verdict, String partition, String detail) {

  /** The possible verdicts. */
  public enum Verdict {
    /** Some order of the operations agrees with the model. */
    LINEARIZABLE,
    /** No order does. */
    NOT_LINEARIZABLE,
    /** The search ran out of time: counts as a failure. */
    TIMED_OUT
  }

  /** Whether the history was proven linearizable. */
  public boolean ok() {
    return verdict == Verdict.LINEARIZABLE;
  }
}
