package io.raftkit.testkit.lincheck;

/**
 * A sequential specification: what an operation does to a state and what it returns.
 *
 * @param <S> the state (immutable, with value equality: it is a memo key)
 * @param <I> an operation's input
 * @param <O> an operation's output (value equality)
 */
public interface Model<S, I, O> {

  /** The state before any operation. */
  S initialState();

  /** What {@code input} does applied to {@code state}. */
  Step<S, O> apply(S state, I input);

  /**
   * The partition an input belongs to (a key): operations of different partitions never affect
   * each other, so each partition is checked alone (P-compositionality).
   */
  String partition(I input);

  /**
   * The outcome of one operation.
   *
   * @param state the state after it
   * @param output what it returns
   * @param <S> the state type
   * @param <O> the output type
   */
  record Step<S, O>(S state, O output) {}
}
