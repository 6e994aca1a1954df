package io.raftkit.api.error;

/** The node is not a member of the membership in question. */
public final class NotAMemberException extends RaftException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message naming the node and the membership. */
  public NotAMemberException(final String message) {
    super(ErrorCode.NOT_A_MEMBER, message);
  }
}
