package io.raftkit.engine.core;

/**
 * Classic Raft bugs that can be switched on in an engine, so that the simulator can prove it
 * catches them ({@link Engine#injectBug}). Never switched on outside that self-test.
 */
public enum KnownBug {
  /** Commit an entry of an earlier term by counting replicas (the Figure 8 bug, §5.4.2). */
  COMMIT_PREVIOUS_TERM_BY_COUNTING,
  /** Reply to a granted vote before the vote is durable (thesis §3.8). */
  VOTE_REPLY_BEFORE_DURABLE,
  /** Reply success to an append before the entries are durable. */
  APPEND_REPLY_BEFORE_DURABLE,
  /** The leader counts its own log toward the quorum before its sync completes. */
  LEADER_COUNTS_SELF_BEFORE_SYNC,
  /** A follower drops every entry after an append's last one, even without a conflict (§5.3). */
  TRUNCATE_AFTER_STALE_APPEND,
  /** Grant a vote without checking that the candidate's log is up to date (§5.4.1). */
  VOTE_WITHOUT_UP_TO_DATE_CHECK,
  /** Grant a second vote in a term to another candidate (§5.2). */
  DOUBLE_VOTE,
  /** A follower takes the leader's commit index without clamping it to what it matched (§5.3). */
  FOLLOWER_COMMIT_BEYOND_MATCH,
  /** A follower checks only that it has the previous index, not its term (§5.3). */
  SKIP_PREV_TERM_CHECK,
  /**
   * On restart, a node whose last configuration entry is joint C(old,new) recovers only C(new):
   * it then counts votes and commits by a majority of C(new) alone (§6).
   */
  FORGET_JOINT_CONFIG_ON_RESTART,
  /**
   * A leader serves lease reads without checking its lease: it has not heard from a quorum
   * recently, or CheckQuorum is off (thesis §6.4.1).
   */
  LEASE_READ_WITHOUT_CHECK_QUORUM
}
