package io.raftkit.api;

/** The role a node plays right now. */
public enum ServerState {
  /** Follows a leader (or waits for one) and may stand for election. */
  FOLLOWER,
  /** Asks for votes, in the pre-vote or the real election phase. */
  CANDIDATE,
  /** Accepts writes and replicates the log. */
  LEADER,
  /** A member that never votes nor stands for election, or a node not yet in any membership. */
  LEARNER,
  /** Closed, or stopped by a fatal error. */
  SHUTDOWN
}
