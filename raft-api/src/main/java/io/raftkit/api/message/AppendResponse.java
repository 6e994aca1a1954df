package io.raftkit.api.message;

/**
 * The answer to an {@link AppendRequest}.
 *
 * <p>On success the follower's log matches the leader's up to {@code matchIndex} and that prefix
 * is durable on the follower. On a conflict the follower lacks {@code prevLogId} or holds another
 * term there; {@code conflictIndex} is where the leader should try next (fast back-off: the first
 * index of the conflicting term, or the follower's last index + 1).
 *
 * @param term the follower's current term; above the leader's, it makes the leader step down
 * @param success whether the entries were accepted
 * @param matchIndex on success, the last index known to match the leader's log
 * @param conflictIndex on failure, the next index the leader should try
 */
public record AppendResponse(long term, boolean success, long matchIndex, long conflictIndex)
    implements RaftResponse {

  /** A success response. */
  public static AppendResponse success(final long term, final long matchIndex) {
    return new AppendResponse(term, true, matchIndex, 0);
  }

  /** A conflict response. */
  public static AppendResponse conflict(final long term, final long conflictIndex) {
    return new AppendResponse(term, false, 0, conflictIndex);
  }

  @Override
  public Kind kind() {
    return Kind.APPEND;
  }
}
