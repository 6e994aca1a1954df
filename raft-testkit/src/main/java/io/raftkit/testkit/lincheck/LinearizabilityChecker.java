package io.raftkit.testkit.lincheck;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Decides whether a concurrent history is linearizable with respect to a {@link Model}.
 *
 * <p>Wing and Gong's search: repeatedly pick an operation that may come first (one invoked before
 * every pending operation returned), apply it to the model, and backtrack when its output
 * disagrees. Lowe's memoisation prunes every (set of linearized operations, model state) pair seen
 * before. Operations of unknown outcome never constrain the others (they "return" at infinity),
 * may be linearized at any point after their invocation, and need not be linearized at all.
 *
 * <p>The search runs on a thread with a large stack (its depth is the number of operations of a
 * partition) and gives up after the time limit, which counts as a failure.
 */
public final class LinearizabilityChecker {

  private LinearizabilityChecker() {}

  /**
   * Checks a history.
   *
   * @param model the sequential specification
   * @param history every operation, in any order
   * @param timeLimit how long the whole search may take
   * @return the verdict
   */
  public static <S, I, O> CheckResult check(
      final Model<S, I, O> model, final List<Operation<I, O>> history, final Duration timeLimit) {
    final Map<String, List<Operation<I, O>>> byPartition = new LinkedHashMap<>();
    for (final Operation<I, O> op : history) {
      byPartition.computeIfAbsent(model.partition(op.input()), k -> new ArrayList<>()).add(op);
    }
    final long deadline = System.nanoTime() + timeLimit.toNanos();
    for (final Map.Entry<String, List<Operation<I, O>>> e : byPartition.entrySet()) {
      final CheckResult r = checkPartition(model, e.getKey(), e.getValue(), deadline);
      if (!r.ok()) {
        return r;
      }
    }
    return new CheckResult(CheckResult.Verdict.LINEARIZABLE, null, byPartition.size() + " partitions, "
        + history.size() + " operations");
  }

  private static <S, I, O> CheckResult checkPartition(
      final Model<S, I, O> model, final String partition, final List<Operation<I, O>> ops, final long deadline) {
    final List<Operation<I, O>> sorted = new ArrayList<>(ops);
    sorted.sort(Comparator.comparingLong(Operation<I, O>::callNanos));
    final Search<S, I, O> search = new Search<>(model, sorted, deadline);
    final Object[] outcome = new Object[1];
    final Thread t = new Thread(null, () -> outcome[0] = search.run(), "lincheck-" + partition, 1L << 29);
    t.start();
    boolean interrupted = false;
    while (t.isAlive()) {
      try {
        t.join();
      } catch (final InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    final CheckResult.Verdict verdict = (CheckResult.Verdict) outcome[0];
    if (verdict == null) {
      throw new IllegalStateException("the search of partition " + partition + " failed");
    }
    return verdict == CheckResult.Verdict.LINEARIZABLE
        ? new CheckResult(verdict, null, "")
        : new CheckResult(verdict, partition, describe(verdict, partition, sorted, search.deepest));
  }

  private static String describe(
      final CheckResult.Verdict verdict, final String partition, final List<? extends Operation<?, ?>> ops,
      final int deepest) {
    final StringBuilder b = new StringBuilder();
    b.append(verdict).append(" in partition ").append(partition).append(": ").append(ops.size())
        .append(" operations, at most ").append(deepest).append(" linearized; history:\n");
    final int limit = Math.min(ops.size(), 60);
    for (int i = 0; i < limit; i++) {
      final Operation<?, ?> op = ops.get(i);
      b.append("  client ").append(op.client()).append(" [").append(op.callNanos()).append(", ")
          .append(op.isUnknown() ? "?" : String.valueOf(op.returnNanos())).append("] ").append(op.input())
          .append(" -> ").append(op.isUnknown() ? "unknown" : op.output()).append('\n');
    }
    if (limit < ops.size()) {
      b.append("  ... ").append(ops.size() - limit).append(" more\n");
    }
    return b.toString();
  }

  private static final class Search<S, I, O> {
    private final Model<S, I, O> model;
    private final List<Operation<I, O>> ops;
    private final long deadline;
    private final int knownCount;
    private final Set<Memo> seen = new HashSet<>();
    private final BitSet linearized = new BitSet();
    private int knownLinearized;
    private int steps;
    int deepest;

    Search(final Model<S, I, O> model, final List<Operation<I, O>> ops, final long deadline) {
      this.model = model;
      this.ops = ops;
      this.deadline = deadline;
      int known = 0;
      for (final Operation<I, O> op : ops) {
        if (!op.isUnknown()) {
          known++;
        }
      }
      this.knownCount = known;
    }

    CheckResult.Verdict run() {
      try {
        return dfs(model.initialState()) ? CheckResult.Verdict.LINEARIZABLE : CheckResult.Verdict.NOT_LINEARIZABLE;
      } catch (final OutOfTime e) {
        return CheckResult.Verdict.TIMED_OUT;
      }
    }

    private boolean dfs(final S state) {
      if (knownLinearized == knownCount) {
        return true;
      }
      if ((++steps & 1023) == 0 && System.nanoTime() - deadline > 0) {
        throw new OutOfTime();
      }
      deepest = Math.max(deepest, linearized.cardinality());
      long minReturn = Long.MAX_VALUE;
      for (int i = linearized.nextClearBit(0); i < ops.size(); i = linearized.nextClearBit(i + 1)) {
        minReturn = Math.min(minReturn, ops.get(i).returnNanos());
      }
      for (int i = linearized.nextClearBit(0); i < ops.size(); i = linearized.nextClearBit(i + 1)) {
        final Operation<I, O> op = ops.get(i);
        if (op.callNanos() > minReturn) {
          break; // sorted by call: no later operation may come first either
        }
        final Model.Step<S, O> step = model.apply(state, op.input());
        if (!op.isUnknown() && !Objects.equals(step.output(), op.output())) {
          continue;
        }
        linearized.set(i);
        if (!op.isUnknown()) {
          knownLinearized++;
        }
        if (seen.add(new Memo((BitSet) linearized.clone(), step.state())) && dfs(step.state())) {
          return true;
        }
        linearized.clear(i);
        if (!op.isUnknown()) {
          knownLinearized--;
        }
      }
      return false;
    }
  }

  private record Memo(BitSet linearized, Object state) {}

  private static final class OutOfTime extends RuntimeException {
    private static final long serialVersionUID = 1L;

    OutOfTime() {
      super(null, null, false, false);
    }
  }
}
