/**
 * Deterministic simulation: real {@link io.raftkit.engine.core.Engine}s in one thread under a
 * simulated clock, network and disks, with faults drawn from a seed, safety invariants checked
 * after every step and the client history checked for linearizability at the end. The same seed
 * replays the same run, event for event ({@link io.raftkit.testkit.sim.SimResult#traceHash()}).
 */
package io.raftkit.testkit.sim;
