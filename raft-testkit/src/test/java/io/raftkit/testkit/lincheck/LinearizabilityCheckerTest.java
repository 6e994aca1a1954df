package io.raftkit.testkit.lincheck;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.testkit.lincheck.KvModel.Input;
import io.raftkit.testkit.lincheck.KvModel.Output;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The checker on histories whose verdict is known. */
class LinearizabilityCheckerTest {
  private static final Duration LIMIT = Duration.ofSeconds(20);

  private static Operation<Input, Output> op(final int client, final long call, final long ret, final Input in,
      final Output out) {
    return Operation.completed(client, call, ret, in, out);
  }

  private static CheckResult check(final List<Operation<Input, Output>> history) {
    return LinearizabilityChecker.check(KvModel.INSTANCE, history, LIMIT);
  }

  @Test
  void shouldAcceptASequentialHistory() {
    final CheckResult r = check(List.of(
        op(1, 0, 1, Input.put("x", 1), Output.PUT_OK),
        op(1, 2, 3, Input.get("x"), Output.read(1L)),
        op(1, 4, 5, Input.cas("x", 1L, 2), Output.cas(true)),
        op(1, 6, 7, Input.cas("x", 1L, 3), Output.cas(false)),
        op(1, 8, 9, Input.get("x"), Output.read(2L))));
    assertThat(r.ok()).as(r.detail()).isTrue();
  }

  @Test
  void shouldRejectAStaleReadAfterAWriteReturned() {
    final CheckResult r = check(List.of(
        op(1, 0, 1, Input.put("x", 1), Output.PUT_OK),
        op(2, 2, 3, Input.get("x"), Output.read(null))));
    assertThat(r.verdict()).isEqualTo(CheckResult.Verdict.NOT_LINEARIZABLE);
    assertThat(r.partition()).isEqualTo("x");
    assertThat(r.detail()).contains("client 2");
  }

  @Test
  void shouldAcceptEitherOrderForConcurrentOperations() {
    // The read overlaps the write: it may see the old or the new value.
    for (final Long seen : new Long[] {null, 5L}) {
      final CheckResult r = check(List.of(
          op(1, 0, 10, Input.put("x", 5), Output.PUT_OK),
          op(2, 1, 9, Input.get("x"), Output.read(seen))));
      assertThat(r.ok()).as("read of %s: %s", seen, r.detail()).isTrue();
    }
  }

  @Test
  void shouldRejectReadsThatSeeTwoConcurrentWritesInOppositeOrders() {
    // Two clients write 1 and 2 concurrently; one reader sees 1 then 2, another 2 then 1, all
    // reads after both writes returned: no single order explains both.
    final CheckResult r = check(List.of(
        op(1, 0, 5, Input.put("x", 1), Output.PUT_OK),
        op(2, 0, 5, Input.put("x", 2), Output.PUT_OK),
        op(3, 6, 7, Input.get("x"), Output.read(1L)),
        op(4, 8, 9, Input.get("x"), Output.read(2L))));
    assertThat(r.verdict()).isEqualTo(CheckResult.Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void shouldLetAnOperationOfUnknownOutcomeTakeEffectOrNot() {
    final Operation<Input, Output> crashed = Operation.unknown(1, 0, Input.put("x", 7));
    assertThat(check(List.of(crashed, op(2, 5, 6, Input.get("x"), Output.read(7L)))).ok()).isTrue();
    assertThat(check(List.of(crashed, op(2, 5, 6, Input.get("x"), Output.read(null)))).ok()).isTrue();
    // ...but once seen, it cannot be unseen.
    final CheckResult r = check(List.of(crashed,
        op(2, 5, 6, Input.get("x"), Output.read(7L)),
        op(2, 7, 8, Input.get("x"), Output.read(null))));
    assertThat(r.verdict()).isEqualTo(CheckResult.Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void shouldRejectALostAcknowledgedWrite() {
    final CheckResult r = check(List.of(
        op(1, 0, 1, Input.put("k", 1), Output.PUT_OK),
        op(1, 2, 3, Input.put("k", 2), Output.PUT_OK),
        op(2, 4, 5, Input.get("k"), Output.read(1L))));
    assertThat(r.ok()).isFalse();
  }

  @Test
  void shouldCheckKeysIndependently() {
    final CheckResult r = check(List.of(
        op(1, 0, 1, Input.put("a", 1), Output.PUT_OK),
        op(1, 2, 3, Input.put("b", 2), Output.PUT_OK),
        op(2, 4, 5, Input.get("a"), Output.read(1L)),
        op(2, 6, 7, Input.get("b"), Output.read(1L))));
    assertThat(r.verdict()).isEqualTo(CheckResult.Verdict.NOT_LINEARIZABLE);
    assertThat(r.partition()).isEqualTo("b");
  }

  @Test
  void shouldDecideALargeRandomLinearizableHistoryQuickly() {
    // Build a history by running operations against a real register with random overlaps: it is
    // linearizable by construction (each op takes effect at a point inside its interval).
    final SplittableRandom random = new SplittableRandom(42);
    final List<Operation<Input, Output>> history = new ArrayList<>();
    Long value = null;
    long time = 0;
    for (int i = 0; i < 2_000; i++) {
      final long call = time - random.nextLong(0, 5);
      final long point = time;
      final long ret = point + random.nextLong(0, 5);
      time += 2;
      final int kind = random.nextInt(3);
      final Input in = kind == 0 ? Input.put("x", i) : kind == 1 ? Input.get("x") : Input.cas("x", value, i);
      final KvModel.Step<Long, Output> step = KvModel.INSTANCE.apply(value, in);
      value = step.state();
      history.add(random.nextInt(20) == 0
          ? Operation.unknown(i % 8, Math.max(0, call), in)
          : op(i % 8, Math.max(0, call), ret, in, step.output()));
    }
    final CheckResult r = check(history);
    assertThat(r.ok()).as(r.detail()).isTrue();
  }
}
