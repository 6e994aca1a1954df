package io.raftkit.testkit.sim;

import io.raftkit.api.Config;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * What one simulated run does. {@link #fromSeed(long)} draws the faults from the seed, so that a
 * seed alone names a run.
 *
 * @param seed the seed of every random choice
 * @param nodes voters, 3 to 7
 * @param durationMillis simulated time of the faulty phase
 * @param dropRate chance that a message is lost
 * @param duplicateRate chance that a message is delivered twice
 * @param maxDelayMillis messages take 0 to this long (so they are reordered)
 * @param faultEveryMillis mean time between faults (partitions, crashes, heals)
 * @param maxIoMillis a disk write and sync takes up to this long
 * @param crashes whether nodes crash (losing unsynced writes) and restart
 * @param partitions whether the network is partitioned (symmetric, one-way, leader isolated)
 * @param clients concurrent clients
 * @param keys keys the clients use
 * @param config the engine config of every node
 */
public record SimConfig(
    long seed,
    int nodes,
    long durationMillis,
    double dropRate,
    double duplicateRate,
    long maxDelayMillis,
    long faultEveryMillis,
    long maxIoMillis,
    boolean crashes,
    boolean partitions,
    int clients,
    int keys,
    Config config) {

  /** The engine config of simulated nodes. */
  public static final Config ENGINE_CONFIG = Config.builder()
      .clusterId("sim")
      .electionTimeout(Duration.ofMillis(150), Duration.ofMillis(300))
      .heartbeatInterval(Duration.ofMillis(50))
      .rpcTimeout(Duration.ofMillis(200))
      .maxEntriesPerAppend(64)
      .maxInflightAppends(4)
      .build();

  /** Validates the fields. */
  public SimConfig {
    if (nodes < 1 || nodes > 7) {
      throw new IllegalArgumentException("nodes=" + nodes + " must be 1..7");
    }
    if (dropRate < 0 || dropRate >= 1 || duplicateRate < 0 || duplicateRate >= 1) {
      throw new IllegalArgumentException("dropRate=" + dropRate + " and duplicateRate=" + duplicateRate
          + " must be in [0, 1)");
    }
    if (clients < 1 || keys < 1) {
      throw new IllegalArgumentException("clients=" + clients + " and keys=" + keys + " must be >= 1");
    }
  }

  /** A run whose every parameter is drawn from {@code seed}. */
  public static SimConfig fromSeed(final long seed) {
    final SplittableRandom r = new SplittableRandom(seed);
    return new SimConfig(
        seed,
        3 + r.nextInt(3),
        3_000 + r.nextLong(3_000),
        r.nextDouble() * 0.3,
        r.nextDouble() * 0.5,
        1 + r.nextLong(30),
        50 + r.nextLong(600),
        1 + r.nextLong(30),
        r.nextBoolean() || r.nextBoolean(),
        true,
        2 + r.nextInt(5),
        10 + r.nextInt(41),
        // Vary the engine too: small batches and windows, and runs without PreVote or
        // CheckQuorum, reach interleavings the defaults make rare.
        ENGINE_CONFIG.toBuilder()
            .maxEntriesPerAppend(new int[] {1, 2, 4, 64}[r.nextInt(4)])
            .maxInflightAppends(1 + r.nextInt(4))
            .preVote(r.nextInt(3) != 0)
            .checkQuorum(r.nextInt(3) != 0)
            .build());
  }

  /** The same run without faults. */
  public SimConfig healthy() {
    return new SimConfig(seed, nodes, durationMillis, 0, 0, maxDelayMillis, faultEveryMillis, maxIoMillis, false, false,
        clients, keys, config);
  }
}
