package io.raftkit.api.message;

import io.raftkit.api.SnapshotMeta;
import java.util.Arrays;
import java.util.Objects;

/**
 * One chunk of a snapshot a leader streams to a follower that needs entries the leader has
 * purged (§7). The chunks of one snapshot carry the same {@code meta} and arrive in offset order,
 * one at a time: the leader sends the next only after the follower answered the previous one.
 *
 * <p>The payload array is owned by the request once constructed.
 *
 * @param term the leader's term
 * @param leaderId the leader
 * @param meta the snapshot the chunk belongs to
 * @param offset where {@code data} starts in the snapshot
 * @param data the chunk's bytes
 * @param done whether this is the last chunk
 */
public record InstallSnapshotRequest(
    long term, long leaderId, SnapshotMeta meta, long offset, byte[] data, boolean done) implements RaftRequest {

  /** Validates the fields. */
  public InstallSnapshotRequest {
    Objects.requireNonNull(meta, "meta");
    Objects.requireNonNull(data, "data");
    if (leaderId <= 0) {
      throw new IllegalArgumentException("leaderId=" + leaderId + " must be > 0");
    }
    if (offset < 0) {
      throw new IllegalArgumentException("offset=" + offset + " must be >= 0");
    }
  }

  @Override
  public Kind kind() {
    return Kind.INSTALL_SNAPSHOT;
  }

  @Override
  public boolean equals(final Object o) {
    return o instanceof InstallSnapshotRequest r
        && term == r.term
        && leaderId == r.leaderId
        && offset == r.offset
        && done == r.done
        && meta.equals(r.meta)
        && Arrays.equals(data, r.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(term, leaderId, meta, offset, done) * 31 + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "InstallSnapshotRequest{term=" + term + ", leader=" + leaderId + ", snapshot=" + meta.snapshotId()
        + " last=" + meta.lastLogId() + ", offset=" + offset + ", bytes=" + data.length + ", done=" + done + "}";
  }
}
