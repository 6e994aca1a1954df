package io.raftkit.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Many seeded simulated runs with faults: 1,000 seeds by default. A failure names its seed and
 * prints the command that replays it. Soaks: {@code scripts/sim-soak.sh --seeds N} or {@code
 * --minutes M} (system properties {@code raftkit.sim.seeds}, {@code raftkit.sim.minutes}, {@code
 * raftkit.sim.firstSeed}).
 */
class SimulationTest {
  private static final int SEEDS = Integer.getInteger("raftkit.sim.seeds", 1000);
  private static final long MINUTES = Long.getLong("raftkit.sim.minutes", 0);
  private static final long FIRST_SEED = Long.getLong("raftkit.sim.firstSeed", 1000);

  @Test
  void shouldStaySafeAndLinearizableUnderFaultsForEverySeed() {
    long acknowledged = 0;
    long crashes = 0;
    long partitions = 0;
    long changes = 0;
    long transfers = 0;
    long leaseReads = 0;
    long readIndexReads = 0;
    long jumps = 0;
    long torn = 0;
    long corrupt = 0;
    long built = 0;
    long streamed = 0;
    long installed = 0;
    long purges = 0;
    long restored = 0;
    long receiveCrashes = 0;
    final long start = System.nanoTime();
    final long stopAt = MINUTES > 0 ? start + MINUTES * 60_000_000_000L : Long.MAX_VALUE;
    final long lastSeed = MINUTES > 0 ? Long.MAX_VALUE : FIRST_SEED + SEEDS;
    long seed = FIRST_SEED;
    for (; seed < lastSeed && System.nanoTime() < stopAt; seed++) {
      final SimResult r;
      try {
        r = new Simulation(SimConfig.fromSeed(seed)).run();
      } catch (final SimulationFailure f) {
        throw new AssertionError(f.getMessage() + "\nreplay: ./mvnw -B verify -pl raft-testkit -am"
            + " -Dtest=SimulationTest#shouldStaySafeAndLinearizableUnderFaultsForEverySeed"
            + " -Dsurefire.failIfNoSpecifiedTests=false -Draftkit.sim.firstSeed=" + f.seed() + " -Draftkit.sim.seeds=1", f);
      }
      assertThat(r.linearizability().ok()).as("seed %d", seed).isTrue();
      acknowledged += r.acknowledged();
      crashes += r.crashes();
      partitions += r.partitions();
      changes += r.membershipChanges();
      transfers += r.transfers();
      leaseReads += r.leaseReads();
      readIndexReads += r.readIndexReads();
      jumps += r.clockJumps();
      torn += r.tornWrites();
      corrupt += r.corruptionsDetected();
      built += r.snapshotsBuilt();
      streamed += r.snapshotsStreamed();
      installed += r.snapshotsInstalled();
      purges += r.logPurges();
      restored += r.snapshotsRestored();
      receiveCrashes += r.crashesWhileReceivingSnapshot();
    }
    final long runs = seed - FIRST_SEED;
    final double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("simulation: %d seeds (from %d) in %.1f s: %.1f seeds/s, %d operations acknowledged%n",
        runs, FIRST_SEED, seconds, runs / seconds, acknowledged);
    System.out.printf("  crashes %d, partitions %d, membership changes %d, transfers %d, lease reads %d,"
        + " ReadIndex reads %d, clock jumps %d, torn writes dropped %d, damaged records detected %d%n",
        crashes, partitions, changes, transfers, leaseReads, readIndexReads, jumps, torn, corrupt);
    System.out.printf("  snapshots built %d, streamed %d, installed %d, log purges %d, restored at restart %d,"
        + " crashes while receiving one %d%n", built, streamed, installed, purges, restored, receiveCrashes);
    // The runs did real work under real faults.
    assertThat(acknowledged).as("operations acknowledged over all seeds").isGreaterThan(20L * runs);
    if (runs >= 10) {
      assertThat(crashes).as("crashes injected").isPositive();
      assertThat(partitions).as("partitions injected").isPositive();
    }
    if (runs >= 200) {
      // Every background fault and read path was exercised somewhere.
      assertThat(changes).as("membership changes").isPositive();
      assertThat(transfers).as("leadership transfers").isPositive();
      assertThat(leaseReads).as("lease reads served").isPositive();
      assertThat(readIndexReads).as("ReadIndex reads served").isPositive();
      assertThat(jumps).as("clock jumps").isPositive();
      assertThat(torn).as("torn writes dropped on recovery").isPositive();
      assertThat(corrupt).as("damaged records detected on recovery").isPositive();
      assertThat(built).as("snapshots built").isPositive();
      assertThat(streamed).as("snapshots streamed").isPositive();
      assertThat(installed).as("snapshots installed").isPositive();
      assertThat(purges).as("log purges").isPositive();
      assertThat(restored).as("snapshots restored at a restart").isPositive();
      assertThat(receiveCrashes).as("crashes while receiving a snapshot").isPositive();
    }
  }

  @Test
  void shouldBuildStreamAndInstallSnapshotsAndPurgeLogsInTheBackground() {
    final int runs = 40;
    int runsWithInstall = 0;
    long built = 0;
    long streamed = 0;
    long installed = 0;
    long purges = 0;
    long restored = 0;
    long checked = 0;
    for (long seed = 1; seed <= runs; seed++) {
      final SimResult r = new Simulation(SimConfig.fromSeed(seed)).run();
      built += r.snapshotsBuilt();
      streamed += r.snapshotsStreamed();
      installed += r.snapshotsInstalled();
      purges += r.logPurges();
      restored += r.snapshotsRestored();
      checked += r.snapshotStatesChecked();
      if (r.snapshotsInstalled() > 0) {
        runsWithInstall++;
      }
    }
    assertThat(built).as("snapshots built").isPositive();
    assertThat(purges).as("log purges").isPositive();
    assertThat(streamed).as("snapshots streamed to the end").isPositive();
    assertThat(installed).as("snapshots installed by followers").isPositive();
    assertThat(restored).as("snapshots restored at a restart").isPositive();
    // Every snapshot built, received, installed or restored was checked against the state the
    // nodes held at its index.
    assertThat(checked).as("snapshot states checked").isGreaterThanOrEqualTo(built + installed + restored);
    // In a good share of the runs a follower that fell behind a purged log caught up by a stream.
    assertThat(runsWithInstall).as("runs with a snapshot installed, of %d", runs).isGreaterThanOrEqualTo(runs / 4);
  }

  @Test
  void shouldCatchUpANodeThatCrashedWhileReceivingASnapshot() {
    // Runs where a node crashed with a half-received snapshot (lost: its store keeps the previous
    // one). Each run passes every check; after healing, each such node still a member has applied
    // up to the leader's commit index, by the log or by a new stream.
    int found = 0;
    long caughtUp = 0;
    for (long seed = 1; seed <= 300 && found < 3; seed++) {
      final SimResult r = new Simulation(SimConfig.fromSeed(seed)).run();
      if (r.crashesWhileReceivingSnapshot() > 0) {
        found++;
        caughtUp += r.caughtUpAfterReceiveCrash();
      }
    }
    assertThat(found).as("runs with a crash while receiving a snapshot").isEqualTo(3);
    assertThat(caughtUp).as("nodes caught up after losing a half-received snapshot").isPositive();
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
