/**
 * Deterministic simulation: real {@link io.raftkit.engine.core.Engine}s in one thread under a
 * simulated clock, network and disks, with faults drawn from a seed, safety invariants checked
 * after every step and the client history checked for linearizability at the end. The same seed
 * replays the same run, event for event ({@link io.raftkit.testkit.sim.SimResult#traceHash()}).
 *
 * <h2>What a run simulates</h2>
 *
 * <ul>
 *   <li><b>Network:</b> loss, duplication, delay and reordering; symmetric splits, one-way links,
 *       an isolated leader; a split along a joint membership change (the leader and a bare
 *       majority of C(new) on one side); the Figure 8 schedule (see {@link
 *       io.raftkit.testkit.sim.SimConfig#figure8()}).
 *   <li><b>Processes:</b> crashes and reboots (some aimed: right after a reply, after a commit is
 *       counted, after a configuration entry becomes durable), pauses longer than an election
 *       timeout.
 *   <li><b>Clocks:</b> each node's clock has its own origin and runs at 1 &plusmn; drift (drift up to
 *       {@link io.raftkit.testkit.sim.SimConfig#MAX_DRIFT}); clocks jump forward, up to 200 ms on the
 *       leader and up to {@link io.raftkit.testkit.sim.SimConfig#MAX_VOTER_JUMP_MILLIS} elsewhere.
 *       The lease assumes bounded drift: 90 % of the minimum election timeout on the leader's clock
 *       must end before the minimum election timeout on any voter's clock, which holds while no
 *       voter's clock gains more than about 5 % on the leader's; the simulator stays inside that.
 *   <li><b>Membership and leadership:</b> in the background the leader adds and removes learners,
 *       adds or removes one or two voters, or replaces the voter set (3 to 7 voters, through
 *       joint consensus), and hands leadership to a random voter. Nodes the committed membership
 *       no longer holds are stopped (their disk is kept) and started again when a change adds them.
 *   <li><b>Snapshots:</b> in most runs a small snapshot policy, snapshots triggered and logs
 *       purged in the background, and followers that fell behind the leader's purged log brought
 *       back by a snapshot streamed in small chunks over the faulty network; each node has a
 *       durable snapshot store, restored at a restart, and a crash loses a snapshot being built
 *       or received (see {@code docs/testing.md}).
 *   <li><b>Clients:</b> put, get and compare-and-set over 10 to 50 keys with unique values; gets
 *       through the log, by ReadIndex or by lease (a refused lease read falls back to ReadIndex);
 *       read-heavy runs add readers with a stale view of the leader and three hot keys.
 * </ul>
 *
 * <h2>Disks</h2>
 *
 * <p>A simulated disk holds checksummed records (CRC32C over term, index, kind and payload) and a
 * synced end, as the file storage does. A crash loses the unsynced writes, or (with disk faults)
 * keeps a prefix of them and may leave the next record torn; on at most a minority of the nodes of
 * a run it may also flip a bit in a record of the cluster's committed prefix. Recovery checks
 * every record: damage past the synced end is a torn write, and the log is cut there (the node
 * never acknowledged those entries); damage in synced records is corruption, and the node refuses
 * to start and stays down for the rest of the run (counted in {@link
 * io.raftkit.testkit.sim.SimResult#corruptionsDetected()}). Applying a damaged record, or other
 * bytes than another node applied at the same index, fails the run. A leader must commit only
 * what a quorum of every voter set holds durably (on disk or in a snapshot), and a snapshot must
 * hold the state every node had after applying its last index (a digest of the map). A run that lost a node for
 * good still has its safety and linearizability checked, but liveness after healing is not
 * required of it (see {@code docs/testing.md}).
 */
package io.raftkit.testkit.sim;
