package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KvStateMachineTest {

  private final KvStateMachine sm = new KvStateMachine();
  private long index;

  private KvResult apply(final KvCommand c) {
    return sm.apply(Entry.normal(LogId.of(1, ++index), c.encode()));
  }

  @Test
  void shouldPutGetDeleteAndCompareAndSet() {
    assertThat(apply(KvCommand.get("a"))).isEqualTo(new KvResult(false, null));
    assertThat(apply(KvCommand.put("a", "1"))).isEqualTo(new KvResult(true, null));
    assertThat(apply(KvCommand.put("a", "2"))).isEqualTo(new KvResult(true, "1"));
    assertThat(apply(KvCommand.get("a"))).isEqualTo(new KvResult(true, "2"));
    assertThat(apply(KvCommand.cas("a", "1", "3"))).isEqualTo(new KvResult(false, "2"));
    assertThat(apply(KvCommand.cas("a", null, "3"))).isEqualTo(new KvResult(false, "2"));
    assertThat(apply(KvCommand.cas("a", "2", "3"))).isEqualTo(new KvResult(true, "3"));
    assertThat(apply(KvCommand.delete("a"))).isEqualTo(new KvResult(true, "3"));
    assertThat(apply(KvCommand.delete("a"))).isEqualTo(new KvResult(false, null));
    assertThat(apply(KvCommand.cas("a", null, "4"))).isEqualTo(new KvResult(true, "4"));
    assertThat(sm.get("a")).isEqualTo("4");
    assertThat(sm.copy()).isEqualTo(Map.of("a", "4"));
    assertThat(sm.lastApplied()).isEqualTo(LogId.of(1, index));
  }

  @Test
  void shouldRecordButIgnoreBlankMembershipAndForeignEntries() {
    apply(KvCommand.put("a", "1"));
    assertThat(sm.apply(Entry.blank(LogId.of(2, 2)))).isNull();
    assertThat(sm.apply(Entry.membership(LogId.of(2, 3), Membership.ofVoters(Map.of(1L, "x:1"))))).isNull();
    assertThat(sm.apply(Entry.normal(LogId.of(2, 4), new byte[] {42, 1, 2}))).isNull();
    assertThat(sm.copy()).isEqualTo(Map.of("a", "1"));
    assertThat(sm.lastApplied()).isEqualTo(LogId.of(2, 4));
  }

  /** Two replicas fed the same random commands reach the same state with the same results. */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 20261126})
  void shouldBeDeterministic(final long seed) {
    final SplittableRandom random = new SplittableRandom(seed);
    final List<byte[]> log = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      final String key = "k" + random.nextInt(20);
      final String value = random.nextInt(3) == 0 ? null : "v" + random.nextInt(5);
      final KvCommand c = switch (random.nextInt(4)) {
        case 0 -> KvCommand.put(key, value == null ? "" : value);
        case 1 -> KvCommand.delete(key);
        case 2 -> KvCommand.cas(key, value, "v" + random.nextInt(5));
        default -> KvCommand.get(key);
      };
      log.add(c.encode());
    }
    final KvStateMachine a = new KvStateMachine();
    final KvStateMachine b = new KvStateMachine();
    for (int i = 0; i < log.size(); i++) {
      final Entry e = Entry.normal(LogId.of(1, i + 1), log.get(i));
      assertThat(b.apply(e)).as("seed=%d entry=%d", seed, i + 1).isEqualTo(a.apply(e));
    }
    assertThat(b.copy()).as("seed=%d", seed).isEqualTo(a.copy());
  }

  @Test
  void shouldRoundTripASnapshotAndRefuseBytesThatAreNotOne() throws Exception {
    final KvStateMachine sm = new KvStateMachine();
    sm.apply(io.raftkit.api.Entry.normal(io.raftkit.api.LogId.of(1, 1), KvCommand.put("a", "1").encode()));
    sm.apply(io.raftkit.api.Entry.normal(io.raftkit.api.LogId.of(1, 2), KvCommand.put("b", "\u00e9").encode()));
    final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    sm.snapshot().writeTo(bytes);
    final io.raftkit.api.SnapshotMeta meta =
        new io.raftkit.api.SnapshotMeta(io.raftkit.api.LogId.of(1, 2), io.raftkit.api.StoredMembership.EMPTY, "s");

    final KvStateMachine restored = new KvStateMachine();
    restored.restore(meta, new java.io.ByteArrayInputStream(bytes.toByteArray()));

    assertThat(restored.copy()).isEqualTo(Map.of("a", "1", "b", "\u00e9"));
    assertThat(restored.lastApplied()).isEqualTo(io.raftkit.api.LogId.of(1, 2));
    final byte[] truncated = java.util.Arrays.copyOf(bytes.toByteArray(), bytes.size() - 1);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new KvStateMachine().restore(meta,
        new java.io.ByteArrayInputStream(truncated))).isInstanceOf(java.io.IOException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new KvStateMachine().restore(
        new io.raftkit.api.SnapshotMeta(io.raftkit.api.LogId.of(1, 3), io.raftkit.api.StoredMembership.EMPTY, "s"),
        new java.io.ByteArrayInputStream(bytes.toByteArray())))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("says 1-3");
  }
}
