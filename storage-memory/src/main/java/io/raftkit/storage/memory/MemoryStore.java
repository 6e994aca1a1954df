package io.raftkit.storage.memory;

import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.Vote;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * A test's handle on one named in-memory store: the "disk" of one node, which outlives the node's
 * storage being closed and opened again.
 *
 * <p><b>Durability model.</b> What a node has {@code sync()}ed survives {@link #crash()}; what it
 * appended or truncated after its last sync is lost by a crash. The vote and finished snapshots
 * are durable as soon as they are saved. A purge is durable at once (purged entries never
 * reappear). The committed hint rolls back to its value at the last sync. A plain close (not a
 * crash) keeps everything, like a process that exits cleanly.
 *
 * <p>Thread-safe: every method may be called from any thread, while the node uses the store.
 */
public interface MemoryStore {

  /** The store's name, the value of the {@value MemoryStores#NAME_OPTION} option. */
  String name();

  /**
   * Simulates power loss: closes the open session, if any (every later call through it throws
   * {@link IllegalStateException}, and a sync blocked by {@link #holdSyncs()} fails), and returns
   * the log to its state at the last sync. The next open sees the synced log, the vote, the
   * committed id of the last sync and the latest finished snapshot.
   */
  void crash();

  /** Whether a node has the store open now. */
  boolean isOpen();

  /** The last log id now, synced or not (what the node sees). */
  LogId lastLogId();

  /** The last log id a {@link #crash()} now would leave. */
  LogId syncedLastLogId();

  /** The last purged log id, or {@link LogId#ZERO}. */
  LogId purgedLogId();

  /** The saved vote, or {@link Vote#NONE}. */
  Vote vote();

  /** The last saved committed id, or {@link LogId#ZERO}. */
  LogId committed();

  /** What the latest finished snapshot holds, if there is one. */
  Optional<SnapshotMeta> latestSnapshot();

  /** How many syncs have completed on this store, across all sessions. */
  long syncCount();

  /**
   * The name of the thread that made the last non-empty append, or {@code null} before the first:
   * lets a test see where the runtime runs log writes (inline on its engine thread, or on its log
   * writer; see {@link MemoryStores#BLOCKING_OPTION}).
   */
  String lastAppendThread();

  /**
   * From now on, {@code sync()} blocks until {@link #releaseSyncs()} (or a crash or close of the
   * session). Lets a test prove that nothing is acknowledged before it is durable.
   */
  void holdSyncs();

  /** Lets blocked and future syncs proceed. */
  void releaseSyncs();

  /**
   * From now on, every {@code sync()} throws {@code failure} (a copy of it, with it as the cause)
   * and makes nothing durable, until called again with {@code null}. Lets a test prove that a
   * failing disk stops the node.
   *
   * @param failure the error syncs throw, or {@code null} to let them succeed again
   */
  void failSyncs(IOException failure);

  /** How many {@code sync()} calls are blocked by {@link #holdSyncs()} right now. */
  int blockedSyncs();

  /**
   * Waits until at least one {@code sync()} is blocked by {@link #holdSyncs()}.
   *
   * @param timeout how long to wait at most
   * @return whether a sync was blocked before the timeout
   * @throws InterruptedException if the calling thread is interrupted
   */
  boolean awaitBlockedSync(Duration timeout) throws InterruptedException;
}
