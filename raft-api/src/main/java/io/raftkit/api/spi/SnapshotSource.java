package io.raftkit.api.spi;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The state of a state machine captured for one snapshot, by {@link StateMachine#snapshot()}.
 * {@link #writeTo} runs once, on a background thread, while the state machine goes on applying
 * entries.
 */
@FunctionalInterface
public interface SnapshotSource {

  /**
   * Writes the captured state. The bytes are what {@link StateMachine#restore} reads back.
   *
   * @param out where to write; buffered by the caller, who also closes it
   * @throws IOException if writing fails (the snapshot is abandoned, the node goes on)
   */
  void writeTo(OutputStream out) throws IOException;
}
