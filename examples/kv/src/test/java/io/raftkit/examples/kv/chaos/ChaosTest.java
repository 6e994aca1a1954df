package io.raftkit.examples.kv.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The short chaos run of the default build: 5 {@code serve} JVMs (netty; file and rocksdb
 * storage on alternate nodes), 8 clients, 28 fault rounds (8 kills, 8 partitions, 4 pauses, 4
 * kills during a partition, 4 kills of a majority at once),
 * voter removals and snapshot requests in the background; then the verdicts: linearizable, no
 * acknowledged write lost, equal digests. About two minutes. {@code -Draftkit.chaos.seed=N} picks
 * another schedule; the report is in {@code examples/kv/target/chaos/test-seed-N/}. The long run is
 * {@code scripts/chaos.sh --minutes M} ({@link ChaosMain}).
 */
class ChaosTest {

  @Test
  void shouldStayLinearizableAndLoseNoAcknowledgedWriteUnderKillsPausesAndPartitions() throws Exception {
    final long seed = Long.getLong("raftkit.chaos.seed", 1L);
    final Path dir = Path.of("target", "chaos", "test-seed-" + seed).toAbsolutePath();
    deleteRecursively(dir);
    final ChaosRunner.Settings settings = new ChaosRunner.Settings(
        seed, 5, 8, 28, Duration.ZERO, Duration.ofSeconds(14), Duration.ofSeconds(7), Duration.ofSeconds(60), dir);
    final ChaosRunner.Result r = new ChaosRunner(settings).run(System.out);
    ChaosReport.write(r, dir);
    System.out.println("chaos: " + ChaosRunner.summary(r) + "; report: " + dir.resolve("report.html"));
    final String context = "seed=" + seed + ", logs and report in " + dir + "\nproblems: " + r.problems
        + "\nlost: " + r.lostWrites + "\ndigests: " + r.digests + "\nlinearizability: "
        + (r.linearizability == null ? "not checked" : r.linearizability.detail());

    assertThat(r.count("kill")).as(context).isGreaterThanOrEqualTo(10);
    assertThat(r.count("partition")).as(context).isGreaterThanOrEqualTo(10);
    assertThat(r.problems).as(context).isEmpty();
    assertThat(r.linearizability.ok()).as(context).isTrue();
    assertThat(r.lostWrites).as(context).isEmpty();
    assertThat(r.uniqueWritesChecked).as(context).isPositive();
    assertThat(r.digests).as(context).hasSize(5);
    assertThat(r.digestsEqual).as(context).isTrue();
    // A passing run keeps its logs and report, not its data.
    for (final long id : r.storage.keySet()) {
      deleteRecursively(dir.resolve("node-" + id));
    }
  }

  static void deleteRecursively(final Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (final Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
