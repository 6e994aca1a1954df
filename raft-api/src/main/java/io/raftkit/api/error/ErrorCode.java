package io.raftkit.api.error;

/** Stable codes of raftkit errors, fit for logs, metrics and client protocols. */
public enum ErrorCode {
  /** This node is not the leader; retry on the leader the error names. */
  NOT_LEADER,
  /** The node is closed or stopped; nothing more will be done. */
  SHUTDOWN,
  /** {@code initialize} was called on a node that already has a membership or a log. */
  ALREADY_INITIALIZED,
  /** The node is not a member of the membership it was given or it serves. */
  NOT_A_MEMBER,
  /** Storage failed: the node stopped so as not to corrupt the cluster. */
  FATAL_STORAGE,
  /** A configuration value breaks a rule. */
  CONFIG,
  /** No provider of the requested name was found. */
  PROVIDER_NOT_FOUND,
  /** The node has too many writes in progress; retry later. */
  OVERLOADED,
  /** A request's argument is invalid (for example a payload above the size limit). */
  INVALID_ARGUMENT,
  /** A peer could not be reached or did not answer in time. */
  UNREACHABLE,
  /** A lease read was refused because the leader's lease is not valid. */
  LEASE_EXPIRED,
  /** A leadership transfer did not complete in time. */
  TRANSFER_FAILED,
  /**
   * A write's entry may or may not have been committed, and this node can no longer tell: a
   * snapshot from the leader replaced the log before the entry was applied here.
   */
  OUTCOME_UNKNOWN
}
