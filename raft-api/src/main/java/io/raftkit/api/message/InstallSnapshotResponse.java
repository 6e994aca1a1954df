package io.raftkit.api.message;

/**
 * The answer to one {@link InstallSnapshotRequest} chunk.
 *
 * @param term the follower's current term; above the leader's, it makes the leader step down
 * @param nextOffset the offset the follower expects next; if it is not the offset after the
 *     chunk just sent, the follower has dropped the snapshot it was receiving and the leader must
 *     start again from 0
 * @param done after the last chunk: the follower has the snapshot durably and installs it (or
 *     already had everything it holds)
 */
public record InstallSnapshotResponse(long term, long nextOffset, boolean done) implements RaftResponse {

  /** Validates the fields. */
  public InstallSnapshotResponse {
    if (nextOffset < 0) {
      throw new IllegalArgumentException("nextOffset=" + nextOffset + " must be >= 0");
    }
  }

  @Override
  public Kind kind() {
    return Kind.INSTALL_SNAPSHOT;
  }
}
