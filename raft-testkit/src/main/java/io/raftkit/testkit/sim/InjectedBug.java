package io.raftkit.testkit.sim;

/**
 * Known Raft bugs a simulation can switch on in every engine, to prove that the simulator catches
 * them. Each names the engine's own switch of the same name.
 */
public enum InjectedBug {
  /** Commit an entry of an earlier term by counting replicas (Figure 8). */
  COMMIT_PREVIOUS_TERM_BY_COUNTING,
  /** Reply to a granted vote before it is durable. */
  VOTE_REPLY_BEFORE_DURABLE,
  /** Reply success to an append before its entries are durable. */
  APPEND_REPLY_BEFORE_DURABLE,
  /** The leader counts itself in the quorum before its own sync. */
  LEADER_COUNTS_SELF_BEFORE_SYNC,
  /** A follower truncates entries after a stale append's last one. */
  TRUNCATE_AFTER_STALE_APPEND,
  /** Grant a vote without the up-to-date check. */
  VOTE_WITHOUT_UP_TO_DATE_CHECK,
  /** Grant two votes in one term. */
  DOUBLE_VOTE,
  /** A follower commits beyond what it matched. */
  FOLLOWER_COMMIT_BEYOND_MATCH,
  /** A follower ignores the term of the previous entry. */
  SKIP_PREV_TERM_CHECK,
  /** A restarted node recovers only the new voter set of a joint configuration. */
  FORGET_JOINT_CONFIG_ON_RESTART,
  /** A leader serves lease reads without a valid lease (no quorum heard, or no CheckQuorum). */
  LEASE_READ_WITHOUT_CHECK_QUORUM
}
