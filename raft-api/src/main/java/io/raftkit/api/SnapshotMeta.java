package io.raftkit.api;

import java.util.Objects;

/**
 * Describes a snapshot of the state machine.
 *
 * @param lastLogId the last entry the snapshot includes
 * @param membership the last membership at or before {@code lastLogId}
 * @param snapshotId a name unique among the snapshots of one node
 */
public record SnapshotMeta(LogId lastLogId, StoredMembership membership, String snapshotId) {

  /** Validates the fields. */
  public SnapshotMeta {
    Objects.requireNonNull(lastLogId, "lastLogId");
    Objects.requireNonNull(membership, "membership");
    Objects.requireNonNull(snapshotId, "snapshotId");
    if (snapshotId.isEmpty()) {
      throw new IllegalArgumentException("snapshotId must not be empty");
    }
    if (membership.logId().index() > lastLogId.index()) {
      throw new IllegalArgumentException(
          "membership at " + membership.logId() + " is after the snapshot's last " + lastLogId);
    }
  }
}
