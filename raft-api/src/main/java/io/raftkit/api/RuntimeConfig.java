package io.raftkit.api;

/**
 * Switches that change a running node's behaviour, for tests and operations (for example to
 * freeze a leader's heartbeats, or keep a node from campaigning during maintenance). Both are on
 * when a node starts. Thread-safe; a change takes effect at the node's next step.
 */
public interface RuntimeConfig {

  /** Turns the leader's periodic heartbeats on or off. */
  void heartbeat(boolean enabled);

  /** Turns this node's election timer on or off (off: it never campaigns by itself). */
  void elect(boolean enabled);
}
