package io.raftkit.examples.kv.chaos;

import io.raftkit.testkit.lincheck.KvModel;
import io.raftkit.testkit.lincheck.Operation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The client history of a chaos run: every operation with its invocation and completion time (the
 * runner's {@link System#nanoTime()}) and its outcome. What the linearizability checker gets:
 * operations that returned ({@link Outcome#OK}); writes of unknown outcome (they may have taken
 * effect at any time after their invocation); not operations that certainly did nothing ({@link
 * Outcome#FAIL}: refused, redirected to no leader, never sent) nor reads without an answer.
 *
 * <p>Thread-safe.
 */
final class History {

  /** What an operation does. */
  enum Kind { GET, PUT, CAS }

  /** How it ended. */
  enum Outcome {
    /** It returned an answer. */
    OK,
    /** It certainly had no effect. */
    FAIL,
    /** It may or may not have taken effect (a write whose answer never came, or a 5xx after it was proposed). */
    UNKNOWN
  }

  /**
   * One operation.
   *
   * @param client the client (negative: the runner's final reads)
   * @param kind what it does
   * @param key the key
   * @param value the value written (PUT, CAS)
   * @param expected the value expected (CAS; {@code null}: absent)
   * @param lease whether a GET asked for a lease read
   * @param invokeNanos when it was invoked
   * @param completeNanos when it completed (or was given up)
   * @param outcome how it ended
   * @param read the value a GET returned ({@code null}: absent)
   * @param swapped whether a CAS swapped
   * @param node the node that answered, 0 if none
   * @param note why it failed or is unknown
   */
  record Op(
      int client, Kind kind, String key, Long value, Long expected, boolean lease, long invokeNanos,
      long completeNanos, Outcome outcome, Long read, boolean swapped, long node, String note) {

    /** Whether it writes (PUT or CAS). */
    boolean write() {
      return kind != Kind.GET;
    }

    /** Its latency in milliseconds. */
    double latencyMillis() {
      return (completeNanos - invokeNanos) / 1e6;
    }
  }

  private final ConcurrentLinkedQueue<Op> ops = new ConcurrentLinkedQueue<>();

  void add(final Op op) {
    ops.add(op);
  }

  /** How many operations are recorded. */
  int size() {
    return ops.size();
  }

  /** A copy of every operation recorded so far. */
  List<Op> ops() {
    return new ArrayList<>(ops);
  }

  /** The history as the checker takes it (see the class comment). */
  static List<Operation<KvModel.Input, KvModel.Output>> forChecker(final List<Op> ops) {
    final List<Operation<KvModel.Input, KvModel.Output>> out = new ArrayList<>(ops.size());
    for (final Op op : ops) {
      final KvModel.Input input = switch (op.kind()) {
        case GET -> KvModel.Input.get(op.key());
        case PUT -> KvModel.Input.put(op.key(), op.value());
        case CAS -> KvModel.Input.cas(op.key(), op.expected(), op.value());
      };
      if (op.outcome() == Outcome.OK) {
        final KvModel.Output output = switch (op.kind()) {
          case GET -> KvModel.Output.read(op.read());
          case PUT -> KvModel.Output.PUT_OK;
          case CAS -> KvModel.Output.cas(op.swapped());
        };
        out.add(Operation.completed(op.client(), op.invokeNanos(), op.completeNanos(), input, output));
      } else if (op.outcome() == Outcome.UNKNOWN && op.write()) {
        out.add(Operation.unknown(op.client(), op.invokeNanos(), input));
      }
    }
    return out;
  }
}
