package io.raftkit.api.message;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import java.util.List;
import java.util.Objects;

/**
 * AppendEntries (§5.3): entries to append after {@code prevLogId}, or none as a heartbeat.
 *
 * @param term the leader's term
 * @param leaderId the leader
 * @param prevLogId the entry just before {@code entries}; the follower must have it
 * @param entries consecutive entries starting at {@code prevLogId.index() + 1}; may be empty
 * @param leaderCommit the leader's commit index
 */
public record AppendRequest(
    long term, long leaderId, LogId prevLogId, List<Entry> entries, long leaderCommit)
    implements RaftRequest {

  /** Validates the fields; {@code entries} is not copied. */
  public AppendRequest {
    Objects.requireNonNull(prevLogId, "prevLogId");
    Objects.requireNonNull(entries, "entries");
    if (leaderId <= 0) {
      throw new IllegalArgumentException("leaderId=" + leaderId + " must be > 0");
    }
    if (!entries.isEmpty() && entries.get(0).index() != prevLogId.index() + 1) {
      throw new IllegalArgumentException(
          "first entry " + entries.get(0).logId() + " does not follow prevLogId=" + prevLogId);
    }
  }

  /** The id of the last entry this request carries, or {@code prevLogId} if none. */
  public LogId lastLogId() {
    return entries.isEmpty() ? prevLogId : entries.get(entries.size() - 1).logId();
  }

  @Override
  public Kind kind() {
    return Kind.APPEND;
  }

  @Override
  public String toString() {
    return "AppendRequest{term="
        + term
        + ", leader="
        + leaderId
        + ", prev="
        + prevLogId
        + ", entries="
        + entries.size()
        + ", commit="
        + leaderCommit
        + "}";
  }
}
