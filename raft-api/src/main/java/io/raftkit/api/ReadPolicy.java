package io.raftkit.api;

/** How {@link Raft#ensureLinearizable(ReadPolicy)} proves that a read is not stale. */
public enum ReadPolicy {
  /**
   * The leader takes its commit index as the read index and confirms it is still the leader with
   * a round of heartbeats acknowledged by a quorum (§6.4 of Ongaro's thesis). Concurrent reads
   * share one round. Safe under any clock behaviour.
   */
  READ_INDEX,
  /**
   * The leader serves the read without a round while its lease holds: a quorum acknowledged a
   * heartbeat sent less than 90 % of the minimum election timeout ago, and with CheckQuorum on no
   * voter elects another leader within the election timeout of hearing from this one. Relies on
   * bounded clock drift; refused (with {@link io.raftkit.api.error.LeaseExpiredException}) when the
   * lease has run out, and with CheckQuorum off (without it, voters may elect a new leader at once
   * and a lease proves nothing).
   */
  LEASE
}
