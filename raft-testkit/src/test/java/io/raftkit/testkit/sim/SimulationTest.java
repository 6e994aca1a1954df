package io.raftkit.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Many seeded simulated runs with faults. A failure names its seed; replay it with {@code new
 * Simulation(SimConfig.fromSeed(seed)).run()}. More seeds: {@code -Draftkit.sim.seeds=1000}
 * (and {@code -Draftkit.sim.firstSeed=S}).
 */
class SimulationTest {
  private static final int SEEDS = Integer.getInteger("raftkit.sim.seeds", 30);
  private static final long FIRST_SEED = Long.getLong("raftkit.sim.firstSeed", 1000);

  @Test
  void shouldStaySafeAndLinearizableUnderFaultsForEverySeed() {
    long acknowledged = 0;
    long crashes = 0;
    long partitions = 0;
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      final SimResult r = new Simulation(SimConfig.fromSeed(seed)).run();
      assertThat(r.linearizability().ok()).as("seed %d", seed).isTrue();
      acknowledged += r.acknowledged();
      crashes += r.crashes();
      partitions += r.partitions();
    }
    // The runs did real work under real faults.
    assertThat(acknowledged).as("operations acknowledged over all seeds").isGreaterThan(100L * SEEDS);
    assertThat(crashes).as("crashes injected").isPositive();
    assertThat(partitions).as("partitions injected").isPositive();
  }

  @Test
  void shouldReplayTheSameRunFromTheSameSeed() {
    final SimResult first = new Simulation(SimConfig.fromSeed(7)).run();
    final SimResult second = new Simulation(SimConfig.fromSeed(7)).run();
    assertThat(second.traceHash()).isEqualTo(first.traceHash());
    assertThat(second.events()).isEqualTo(first.events());
    final SimResult other = new Simulation(SimConfig.fromSeed(8)).run();
    assertThat(other.traceHash()).isNotEqualTo(first.traceHash());
  }

  @Test
  void shouldCommitEveryOperationWithoutFaults() {
    final SimResult r = new Simulation(SimConfig.fromSeed(3).healthy()).run();
    assertThat(r.unknown()).isZero();
    assertThat(r.acknowledged()).isGreaterThan(100);
    assertThat(r.crashes()).isZero();
  }
}
