package io.raftkit.api;

import java.util.Map;
import java.util.Objects;

/**
 * A consistent picture of one node, published by its engine after every batch of events that
 * changed something. Immutable; {@link Raft#metrics()} returns the latest.
 *
 * @param nodeId the node
 * @param state its role
 * @param currentTerm the highest term it has seen
 * @param vote its vote
 * @param currentLeader the leader it knows of in {@code currentTerm}, or {@code 0}
 * @param lastLogId the last entry in its log (durable or not)
 * @param flushedLogId the last entry known durable in its log
 * @param committed the last entry it knows committed
 * @param lastApplied the last entry its state machine applied
 * @param purged the last entry purged from its log ({@link LogId#ZERO} if none)
 * @param snapshot the last entry of its latest snapshot ({@link LogId#ZERO} if none)
 * @param membership its effective membership (the latest in its log)
 * @param replication on a leader: the highest index known replicated on each other member; empty
 *     otherwise
 * @param quorumAckNanos on a leader, when (in {@link System#nanoTime()} terms) the latest heartbeat
 *     round acknowledged by a quorum was sent; {@code 0} if none yet or not a leader
 * @param fatalError why the node stopped, if a fatal error stopped it; else {@code null}
 */
public record RaftMetrics(
    long nodeId,
    ServerState state,
    long currentTerm,
    Vote vote,
    long currentLeader,
    LogId lastLogId,
    LogId flushedLogId,
    LogId committed,
    LogId lastApplied,
    LogId purged,
    LogId snapshot,
    StoredMembership membership,
    Map<Long, Long> replication,
    long quorumAckNanos,
    String fatalError) {

  /** Validates and copies the fields. */
  public RaftMetrics {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(vote, "vote");
    Objects.requireNonNull(lastLogId, "lastLogId");
    Objects.requireNonNull(flushedLogId, "flushedLogId");
    Objects.requireNonNull(committed, "committed");
    Objects.requireNonNull(lastApplied, "lastApplied");
    Objects.requireNonNull(purged, "purged");
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(membership, "membership");
    replication = Map.copyOf(replication);
  }

  /** Whether this node is the leader. */
  public boolean isLeader() {
    return state == ServerState.LEADER;
  }

  /** Whether a joint-consensus membership change is in progress. */
  public boolean isJoint() {
    return !membership.isEmpty() && membership.membership().isJoint();
  }

  /**
   * On a leader, how many entries {@code nodeId} lacks: the leader's last index minus the
   * follower's matched index.
   *
   * @return the lag, or -1 if this is not a leader or {@code nodeId} is not replicated to
   */
  public long lag(final long nodeId) {
    final Long matched = replication.get(nodeId);
    return matched == null ? -1 : Math.max(0, lastLogId.index() - matched);
  }

  /**
   * On a leader, how long ago the latest heartbeat round that a quorum acknowledged was sent,
   * measured now; -1 if none was or this is not a leader. Grows while a leader is cut off.
   */
  public long millisSinceQuorumAck() {
    return quorumAckNanos == 0 ? -1 : (System.nanoTime() - quorumAckNanos) / 1_000_000;
  }

  @Override
  public String toString() {
    return "RaftMetrics{node="
        + nodeId
        + " "
        + state
        + " term="
        + currentTerm
        + " leader="
        + currentLeader
        + " last="
        + lastLogId
        + " flushed="
        + flushedLogId
        + " committed="
        + committed
        + " applied="
        + lastApplied
        + (snapshot.index() == 0 ? "" : " snapshot=" + snapshot)
        + (purged.index() == 0 ? "" : " purged=" + purged)
        + (fatalError == null ? "" : " fatal=" + fatalError)
        + "}";
  }
}
