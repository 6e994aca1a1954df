package io.raftkit.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The simulator earns trust by catching known Raft bugs: each is switched on in every engine, and
 * some seed among the first 500 must fail. Seeds 1.. are searched in order, so the seed that
 * catches a bug is the same on every run (printed, with the failure's first line).
 */
class SimulationBugsTest {
  private static final int MAX_SEEDS = 500;

  @ParameterizedTest
  @EnumSource(InjectedBug.class)
  void shouldCatchTheBugWithinFiveHundredSeeds(final InjectedBug bug) {
    final SimulationFailure caught = firstFailure(bug, MAX_SEEDS);
    assertThat(caught).as("%s not caught in %d seeds", bug, MAX_SEEDS).isNotNull();
    assertThat(caught.getMessage()).contains("seed=" + caught.seed()).contains("last events:");
    System.out.printf("%s caught after %d seed(s): %s%n", bug, caught.seed(),
        caught.getMessage().lines().findFirst().orElse(""));
  }

  /** The failure of the first of seeds 1..{@code maxSeeds} that fails with {@code bug} on, or null. */
  private static SimulationFailure firstFailure(final InjectedBug bug, final int maxSeeds) {
    for (long seed = 1; seed <= maxSeeds; seed++) {
      try {
        new Simulation(SimConfig.fromSeed(seed)).withBug(bug).run();
      } catch (final SimulationFailure f) {
        return f;
      }
    }
    return null;
  }

  /**
   * The lease check sees a stale lease when the read is taken, without waiting for a later write
   * to make the value differ: the linearizability checker alone first caught this bug at seed 194.
   */
  @Test
  void shouldCatchALeaseReadTakenAfterAnotherLeaderWasElected() {
    final SimulationFailure caught = firstFailure(InjectedBug.LEASE_READ_WITHOUT_CHECK_QUORUM, 50);
    assertThat(caught).as("a stale lease read within 50 seeds").isNotNull();
    assertThat(caught.getMessage().lines().findFirst().orElse(""))
        .contains("took a lease read")
        .contains("was elected leader of term");
  }

  /**
   * The restart check sees a forgotten joint configuration at once, not only when it later makes a
   * node truncate a committed entry (first caught at seed 56 that way).
   */
  @Test
  void shouldCatchANodeThatRestartsWithoutItsJointConfiguration() {
    final SimulationFailure caught = firstFailure(InjectedBug.FORGET_JOINT_CONFIG_ON_RESTART, 20);
    assertThat(caught).as("a forgotten joint configuration within 20 seeds").isNotNull();
    assertThat(caught.getMessage().lines().findFirst().orElse(""))
        .contains("restarted with configuration")
        .contains("but the latest in its log is");
  }
}
