package io.raftkit.testkit.sim;

/** A simulated run broke an invariant. The message names the seed, to replay the run. */
public final class SimulationFailure extends AssertionError {
  private static final long serialVersionUID = 1L;

  private final long seed;

  SimulationFailure(final long seed, final long nowMillis, final String message) {
    super("seed=" + seed + " at t=" + nowMillis + "ms: " + message
        + " (replay: new Simulation(SimConfig.fromSeed(" + seed + "L)).run())");
    this.seed = seed;
  }

  /** The seed of the failed run. */
  public long seed() {
    return seed;
  }
}
