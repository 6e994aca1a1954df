package io.raftkit.examples.kv.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.examples.kv.chaos.History.Kind;
import io.raftkit.examples.kv.chaos.History.Op;
import io.raftkit.examples.kv.chaos.History.Outcome;
import io.raftkit.testkit.lincheck.KvModel;
import io.raftkit.testkit.lincheck.LinearizabilityChecker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
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

  private static NodeMetrics leader(final List<Set<Long>> voterSets, final Set<Long> learners) {
    return new NodeMetrics(1, "LEADER", 7, 1, 100, 100, voterSets, learners, null);
  }

  @Test
  void shouldRemoveAVoterOnlyFromAFullConfigurationThatIsNotJoint() {
    final Set<Long> cluster = Set.of(1L, 2L, 3L, 4L, 5L);
    final Random random = new Random(1);
    final Set<Long> victims = new TreeSet<>();
    for (int i = 0; i < 200; i++) {
      victims.add(ChaosRunner.removalVictim(leader(List.of(cluster), Set.of()), cluster, random));
    }
    assertThat(victims).isEqualTo(cluster);
    // What the 30-minute run of seed 1126 did: it went on removing from 4, 3, 2 voters.
    assertThat(ChaosRunner.removalVictim(leader(List.of(Set.of(1L, 2L, 4L, 5L)), Set.of(3L)), cluster, random))
        .isZero();
    assertThat(ChaosRunner.removalVictim(leader(List.of(Set.of(4L, 5L)), Set.of(1L, 2L, 3L)), cluster, random))
        .isZero();
    assertThat(ChaosRunner.removalVictim(leader(List.of(Set.of(4L)), Set.of(1L, 2L, 3L, 5L)), cluster, random))
        .isZero();
    // A joint configuration (a change in flight, or one a new leader has yet to finish) waits.
    assertThat(ChaosRunner.removalVictim(leader(List.of(cluster, Set.of(1L, 2L, 4L, 5L)), Set.of()), cluster, random))
        .isZero();
    assertThat(ChaosRunner.removalVictim(null, cluster, random)).isZero();
  }

  private static long s(final double seconds) {
    return (long) (seconds * 1e9);
  }

  @Test
  void shouldCountTheTimeWithFewVotersAndFailARunThatSpentMoreThanAMinuteBelowThree() {
    final NodeMetrics joint = leader(List.of(Set.of(1L, 2L, 4L, 5L), Set.of(1L, 2L, 4L)), Set.of(3L, 5L));
    assertThat(ChaosRunner.voterCount(joint)).isEqualTo(3);

    // Healthy: removals of one voter for a few seconds each; the first change predates the phase.
    final List<long[]> healthy = List.of(new long[] {s(-5), 5}, new long[] {s(10), 4}, new long[] {s(13), 5},
        new long[] {s(40), 4}, new long[] {s(44.5), 5});
    final ChaosRunner.VoterTime h = ChaosRunner.voterTime(healthy, 0, s(100), 5);
    assertThat(h.min()).isEqualTo(4);
    assertThat(h.nanosBelowFull()).isEqualTo(s(7.5));
    assertThat(h.nanosBelowFew()).isZero();
    assertThat(ChaosRunner.voterProblem(h)).isNull();

    // Seed 1126: 5, 4, 3, 2, then 1 voter for good.
    final List<long[]> shrunk = List.of(new long[] {0, 5}, new long[] {s(24), 4}, new long[] {s(143), 3},
        new long[] {s(197), 2}, new long[] {s(300), 1});
    final ChaosRunner.VoterTime t = ChaosRunner.voterTime(shrunk, 0, s(1800), 5);
    assertThat(t.min()).isEqualTo(1);
    assertThat(t.nanosBelowFull()).isEqualTo(s(1776));
    assertThat(t.nanosBelowFew()).isEqualTo(s(1603));
    assertThat(ChaosRunner.voterProblem(t)).contains("fewer than 3 voters for 1603.0 s");

    // The limit is on the total: 59 s below 3 passes, 61 s (in two stretches) fails.
    final List<long[]> dips = new ArrayList<>();
    dips.add(new long[] {0, 5});
    dips.add(new long[] {s(10), 2});
    dips.add(new long[] {s(40), 5});
    dips.add(new long[] {s(50), 2});
    dips.add(new long[] {s(79), 5});
    assertThat(ChaosRunner.voterProblem(ChaosRunner.voterTime(dips, 0, s(100), 5))).isNull();
    dips.set(4, new long[] {s(81), 5});
    assertThat(ChaosRunner.voterProblem(ChaosRunner.voterTime(dips, 0, s(100), 5))).isNotNull();
    // Only the fault phase counts: the same dips after its end do not.
    assertThat(ChaosRunner.voterTime(dips, 0, s(10), 5).nanosBelowFew()).isZero();
    assertThat(ChaosRunner.voterTime(List.of(), 0, s(10), 5).min()).isEqualTo(-1);
    assertThat(TimeUnit.NANOSECONDS.toSeconds(ChaosRunner.voterTime(dips, s(60), s(100), 5).nanosBelowFew()))
        .isEqualTo(21);
  }
}
