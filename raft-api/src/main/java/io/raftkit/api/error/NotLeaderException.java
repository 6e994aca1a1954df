package io.raftkit.api.error;

/**
 * The node that got a request is not the leader. Carries the leader it knows of, if any, so the
 * client can retry there.
 */
public final class NotLeaderException extends RaftException {
  private static final long serialVersionUID = 1L;

  private final long nodeId;
  private final long leaderId;
  private final String leaderAddress;

  /**
   * Creates the error.
   *
   * @param nodeId the node that refused
   * @param leaderId the leader it knows of, or {@code 0} if none
   * @param leaderAddress that leader's address, or {@code null} if unknown
   */
  public NotLeaderException(final long nodeId, final long leaderId, final String leaderAddress) {
    super(
        ErrorCode.NOT_LEADER,
        "node "
            + nodeId
            + " is not the leader"
            + (leaderId == 0 ? "; no leader known" : "; leader is node " + leaderId + " at " + leaderAddress));
    this.nodeId = nodeId;
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
  }

  /** The node that refused the request. */
  public long nodeId() {
    return nodeId;
  }

  /** The leader the refusing node knows of, or {@code 0}. */
  public long leaderId() {
    return leaderId;
  }

  /** The known leader's address, or {@code null}. */
  public String leaderAddress() {
    return leaderAddress;
  }
}
