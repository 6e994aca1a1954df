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
 * @param membership its effective membership (the latest in its log)
 * @param replication on a leader: the highest index known replicated on each other member; empty
 *     otherwise
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
    StoredMembership membership,
    Map<Long, Long> replication,
    String fatalError) {

  /** Validates and copies the fields. */
  public RaftMetrics {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(vote, "vote");
    Objects.requireNonNull(lastLogId, "lastLogId");
    Objects.requireNonNull(flushedLogId, "flushedLogId");
    Objects.requireNonNull(committed, "committed");
    Objects.requireNonNull(lastApplied, "lastApplied");
    Objects.requireNonNull(membership, "membership");
    replication = Map.copyOf(replication);
  }

  /** Whether this node is the leader. */
  public boolean isLeader() {
    return state == ServerState.LEADER;
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
        + (fatalError == null ? "" : " fatal=" + fatalError)
        + "}";
  }
}
