package io.raftkit.examples.kv.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.examples.kv.chaos.History.Kind;
import io.raftkit.examples.kv.chaos.History.Op;
import io.raftkit.examples.kv.chaos.History.Outcome;
import io.raftkit.testkit.lincheck.KvModel;
import io.raftkit.testkit.lincheck.LinearizabilityChecker;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The chaos test's judging, without processes: histories it must reject, and the metrics it reads. */
class ChaosVerdictsTest {

  private static Op put(final int client, final long from, final long to, final Outcome outcome, final long value) {
    return new Op(client, Kind.PUT, "r0-0", value, null, false, from, to, outcome, null, false, 1, "");
  }

  private static Op get(final int client, final long from, final long to, final Long read) {
    return new Op(client, Kind.GET, "r0-0", null, null, false, from, to, Outcome.OK, read, false, 1, "");
  }

  private static boolean linearizable(final Op... ops) {
    return LinearizabilityChecker.check(KvModel.INSTANCE, History.forChecker(List.of(ops)), Duration.ofSeconds(10))
        .ok();
  }

  @Test
  void shouldRejectALostAcknowledgedWriteAndAStaleRead() {
    assertThat(linearizable(put(0, 0, 10, Outcome.OK, 7), get(1, 20, 30, null))).isFalse();
    assertThat(linearizable(put(0, 0, 10, Outcome.OK, 7), put(0, 11, 12, Outcome.OK, 8), get(1, 20, 30, 7L)))
        .isFalse();
    assertThat(linearizable(put(0, 0, 10, Outcome.OK, 7), get(1, 20, 30, 7L))).isTrue();
  }

  @Test
  void shouldLetAnUnknownWriteTakeEffectLateButNotAFailedOne() {
    // An unknown write may apply any time after its invocation, even after a later read saw nothing.
    assertThat(linearizable(put(0, 0, 5, Outcome.UNKNOWN, 7), get(1, 20, 30, null), get(1, 40, 50, 7L))).isTrue();
    // A failed write certainly did nothing: reading its value breaks the history.
    assertThat(linearizable(put(0, 0, 5, Outcome.FAIL, 7), get(1, 40, 50, 7L))).isFalse();
  }

  @Test
  void shouldReadTheMetricsRaftKvServes() {
    final NodeMetrics m = NodeMetrics.parse("{\"node_id\":3,\"state\":\"LEADER\",\"current_term\":12,"
        + "\"current_leader\":3,\"vote\":{\"term\":12,\"voted_for\":3,\"committed\":true},"
        + "\"last_log\":{\"term\":12,\"index\":90},\"flushed\":{\"term\":12,\"index\":90},"
        + "\"committed\":{\"term\":12,\"index\":88},\"last_applied\":{\"term\":12,\"index\":87},"
        + "\"membership\":{\"log_id\":{\"term\":12,\"index\":80},\"voter_sets\":[[1,2,3,4,5],[1,2,3,5]],"
        + "\"learners\":[4],\"nodes\":{\"1\":\"a:1\"},\"joint\":true},\"fatal_error\":null,\"kv_keys\":4}");
    assertThat(m.node()).isEqualTo(3);
    assertThat(m.isLeader()).isTrue();
    assertThat(m.term()).isEqualTo(12);
    assertThat(m.leader()).isEqualTo(3);
    assertThat(m.committed()).isEqualTo(88);
    assertThat(m.applied()).isEqualTo(87);
    assertThat(m.voterSets()).containsExactly(Set.of(1L, 2L, 3L, 4L, 5L), Set.of(1L, 2L, 3L, 5L));
    assertThat(m.learners()).containsExactly(4L);
    assertThat(m.fatalError()).isNull();
    final NodeMetrics f = NodeMetrics.parse("{\"node_id\":2,\"state\":\"SHUTDOWN\",\"current_term\":1,"
        + "\"current_leader\":null,\"fatal_error\":\"disk \\\"full\\\"\"}");
    assertThat(f.leader()).isZero();
    assertThat(f.fatalError()).contains("disk");
  }
}
