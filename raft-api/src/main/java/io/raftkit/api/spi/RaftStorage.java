package io.raftkit.api.spi;

import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import java.io.IOException;

/**
 * The durable state of one node: its log, its vote, its commit hint and its snapshots.
 *
 * <p><b>Threading:</b> the runtime calls the write methods ({@link #saveVote}, {@link
 * #saveCommitted}, and the log's write methods) from one thread at a time, in order: the node's
 * log-writer thread, or its engine thread for a store that says it {@link #neverBlocks()} (each
 * hand-over between the two happens-before the next write). Read methods may be called from any
 * thread at any time and must be safe concurrently with writes.
 *
 * <p><b>Errors:</b> an {@link IOException} (or any other exception) from a write is fatal: the
 * node stops rather than risk acknowledging what is not durable.
 */
public interface RaftStorage extends AutoCloseable {

  /** The log. */
  LogStore log();

  /** The snapshot store. */
  SnapshotStore snapshots();

  /**
   * The saved vote, or {@link Vote#NONE} if none was ever saved.
   *
   * @throws IOException if it cannot be read
   */
  Vote readVote() throws IOException;

  /**
   * Saves the vote. <b>Durable when this returns.</b> A vote's term never goes down: saving a
   * vote with a lower term than the saved one throws {@link IllegalArgumentException} and changes
   * nothing.
   *
   * @throws IOException if it cannot be made durable (fatal)
   */
  void saveVote(Vote vote) throws IOException;

  /**
   * Records the last committed id as a hint for restart; it need not be durable (the engine
   * learns the commit index again from the leader), but it must never be ahead of the log.
   *
   * @throws IllegalArgumentException if {@code committed.index()} is beyond the last log id;
   *     nothing is saved
   * @throws IOException if it cannot be written (fatal)
   */
  void saveCommitted(LogId committed) throws IOException;

  /**
   * The last saved committed id, or {@link LogId#ZERO}.
   *
   * @throws IOException if it cannot be read
   */
  LogId readCommitted() throws IOException;

  /**
   * Whether every write (log appends, truncations, purges, syncs, votes, commit hints) returns
   * within microseconds without waiting for a device, as an in-memory store's do. The runtime then
   * runs writes on the node's engine thread whenever the log-writer thread is idle, saving two
   * thread hand-offs per write round. Default {@code false}: a store that syncs to a disk must
   * never run on the engine thread, which would stall elections and heartbeats.
   */
  default boolean neverBlocks() {
    return false;
  }

  /**
   * Closes the storage. Whatever was synced stays durable; what was appended but not synced may
   * be lost. Calls after close throw {@link IllegalStateException}.
   *
   * @throws IOException if closing fails
   */
  @Override
  void close() throws IOException;
}
