package io.raftkit.testkit.sim;

import io.raftkit.api.Config;
import io.raftkit.api.SnapshotPolicy;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * What one simulated run does. {@link #fromSeed(long)} draws the faults from the seed, so that a
 * seed alone names a run.
 *
 * @param seed the seed of every random choice
 * @param nodes voters of the initial membership, 3 to 5
 * @param spareNodes further nodes, idle until a membership change adds them (nodes + spare &le; 7)
 * @param durationMillis simulated time of the faulty phase
 * @param dropRate chance that a message is lost
 * @param duplicateRate chance that a message is delivered twice
 * @param maxDelayMillis messages take 0 to this long (so they are reordered)
 * @param faultEveryMillis mean time between faults (partitions, crashes, heals)
 * @param maxIoMillis a disk write and sync takes up to this long
 * @param crashes whether nodes crash (losing unsynced writes) and restart
 * @param partitions whether the network is partitioned (symmetric, one-way, leader isolated)
 * @param membershipEveryMillis mean time between membership changes in the background; 0: none
 * @param transferEveryMillis mean time between leadership transfers in the background; 0: none
 * @param maxClockDrift each node's clock runs at a rate drawn from [1 - this, 1 + this]
 * @param clockJumps whether clocks jump forward now and then
 * @param diskFaults whether a crash may keep part of the unsynced writes, tear the last one, or
 *     flip a bit in a record (on at most one node of the run)
 * @param figure8 a fault schedule that favours the Figure 8 history (§5.4.2): a new leader is
 *     often isolated right after its election or right after it counts a commit, and appends
 *     carry one entry
 * @param snapshotEveryMillis mean time between snapshots triggered and log purges requested in the
 *     background, on random nodes; 0: none (the engine's snapshot policy, in {@code config}, builds
 *     snapshots on its own too)
 * @param clients concurrent clients
 * @param keys keys the clients use
 * @param config the engine config of every node
 */
public record SimConfig(
    long seed,
    int nodes,
    int spareNodes,
    long durationMillis,
    double dropRate,
    double duplicateRate,
    long maxDelayMillis,
    long faultEveryMillis,
    long maxIoMillis,
    boolean crashes,
    boolean partitions,
    long membershipEveryMillis,
    long transferEveryMillis,
    double maxClockDrift,
    boolean clockJumps,
    boolean diskFaults,
    boolean figure8,
    long snapshotEveryMillis,
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

  /**
   * The largest clock drift the simulator draws. The engine's lease (90 % of the minimum election
   * timeout on the leader's clock, against the full minimum election timeout on each voter's
   * clock) holds while no voter's clock gains more than 0.1/1.9 (about 5.2 %) on the leader's over
   * an election timeout; 2 % leaves room for the small forward jumps of {@link #MAX_VOTER_JUMP_MILLIS}.
   */
  public static final double MAX_DRIFT = 0.02;

  /**
   * The largest forward jump of a node's clock while it is not the leader, at most once per two
   * maximum election timeouts: within the lease's margin at {@link #MAX_DRIFT} (a 150 ms voter
   * lease lasts at least 147 ms of real time at +2 %, the leader's 135 ms at most 138 ms at -2 %).
   * A leader's clock may jump much further: a fast leader clock only shortens its lease.
   */
  public static final long MAX_VOTER_JUMP_MILLIS = 5;

  /** Validates the fields. */
  public SimConfig {
    if (nodes < 1 || spareNodes < 0 || nodes + spareNodes > 7) {
      throw new IllegalArgumentException("nodes=" + nodes + " and spareNodes=" + spareNodes
          + " must be 1..7 together");
    }
    if (dropRate < 0 || dropRate >= 1 || duplicateRate < 0 || duplicateRate >= 1) {
      throw new IllegalArgumentException("dropRate=" + dropRate + " and duplicateRate=" + duplicateRate
          + " must be in [0, 1)");
    }
    if (maxClockDrift < 0 || maxClockDrift > MAX_DRIFT) {
      throw new IllegalArgumentException("maxClockDrift=" + maxClockDrift + " must be in [0, " + MAX_DRIFT + "]");
    }
    if (clients < 1 || keys < 1) {
      throw new IllegalArgumentException("clients=" + clients + " and keys=" + keys + " must be >= 1");
    }
  }

  /** A run whose every parameter is drawn from {@code seed}. */
  public static SimConfig fromSeed(final long seed) {
    final SplittableRandom r = new SplittableRandom(seed);
    final int nodes = 3 + r.nextInt(3);
    final long duration = 3_000 + r.nextLong(3_000);
    final double drop = r.nextDouble() * 0.3;
    final double duplicate = r.nextDouble() * 0.5;
    final long maxDelay = 1 + r.nextLong(30);
    final long faultEvery = 50 + r.nextLong(600);
    final long maxIo = 1 + r.nextLong(30);
    final boolean crashes = r.nextBoolean() || r.nextBoolean();
    final int clients = 2 + r.nextInt(5);
    final int keys = 10 + r.nextInt(41);
    // Vary the engine too: small batches and windows, and runs without PreVote or CheckQuorum,
    // reach interleavings the defaults make rare.
    final int maxEntries = new int[] {1, 2, 4, 64}[r.nextInt(4)];
    final int window = 1 + r.nextInt(4);
    final boolean preVote = r.nextInt(3) != 0;
    final boolean checkQuorum = r.nextInt(3) != 0;
    // Drawn after the parameters above, so that those stay what they were for a seed.
    final boolean membership = r.nextInt(3) != 0;
    final int spare = membership ? 1 + r.nextInt(7 - nodes) : 0;
    final long membershipEvery = membership ? 150 + r.nextLong(600) : 0;
    final long transferEvery = r.nextInt(3) == 0 ? 200 + r.nextLong(800) : 0;
    final double drift = r.nextBoolean() ? r.nextDouble() * MAX_DRIFT : 0;
    final boolean jumps = r.nextBoolean();
    final boolean diskFaults = crashes && r.nextInt(3) == 0;
    final boolean figure8 = r.nextInt(4) == 0;
    // Snapshots in 5 runs of 6: a small policy and few entries kept below a snapshot, so that logs
    // are purged often and a follower that was cut off or down catches up by a snapshot; small
    // chunks, so that a stream spans several messages; triggers and purges in the background.
    final boolean snapshots = r.nextInt(6) != 0;
    final SnapshotPolicy policy = snapshots ? SnapshotPolicy.logsSinceLast(5 + r.nextLong(36)) : SnapshotPolicy.NEVER;
    final long keep = r.nextLong(11);
    final int chunk = 16 + r.nextInt(113);
    final long snapshotEvery = snapshots ? 100 + r.nextLong(500) : 0;
    final Config.Builder engine = ENGINE_CONFIG.toBuilder()
        .maxInflightAppends(window)
        .preVote(preVote)
        .checkQuorum(checkQuorum)
        .snapshotPolicy(policy)
        .maxInSnapshotLogToKeep(keep)
        .snapshotMaxChunkSize(chunk);
    if (figure8) {
      // Figure 8 needs three leaders in a row over a small cluster, without other changes.
      return new SimConfig(seed, 3, 0, duration, drop / 3, 0, maxDelay, faultEvery, maxIo, crashes, false, 0, 0,
          drift, jumps, false, true, snapshotEvery, clients, keys, engine.maxEntriesPerAppend(1).build());
    }
    return new SimConfig(seed, nodes, spare, duration, drop, duplicate, maxDelay, faultEvery, maxIo, crashes, true,
        membershipEvery, transferEvery, drift, jumps, diskFaults, false, snapshotEvery, clients, keys,
        engine.maxEntriesPerAppend(maxEntries).build());
  }

  /** The same run without faults (the clocks still drift). */
  public SimConfig healthy() {
    return new SimConfig(seed, nodes, 0, durationMillis, 0, 0, maxDelayMillis, faultEveryMillis, maxIoMillis, false,
        false, 0, 0, maxClockDrift, false, false, false, 0, clients, keys, config);
  }

  /** Every node of the run: the initial voters and the spare nodes. */
  public int poolSize() {
    return nodes + spareNodes;
  }
}
