package io.raftkit.api.spi;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import java.io.IOException;
import java.io.InputStream;

/**
 * The application's replicated state machine.
 *
 * <p><b>Threading:</b> every method is called from one thread, the node's apply thread, never
 * concurrently; an implementation need not be thread-safe against the engine. Client futures are
 * completed on that thread too, so callbacks attached to them should not block.
 *
 * <p><b>Order:</b> {@link #apply} is called with every committed entry, in log order, each
 * exactly once per node lifetime. Across restarts an entry may be applied again if the state
 * machine's {@link #lastApplied()} says it was not applied: a durable state machine records the
 * last applied id atomically with its effects; a volatile one returns {@link LogId#ZERO} and has
 * the whole log replayed.
 *
 * @param <R> what {@link #apply} returns to the client that wrote the entry
 */
public interface StateMachine<R> {

  /**
   * The last entry this state machine has applied; called once when the node starts, before any
   * {@link #apply}. The engine applies the committed entries after it.
   *
   * @return the last applied id, or {@link LogId#ZERO} if nothing was applied
   */
  LogId lastApplied();

  /**
   * Applies one committed entry. Every entry is passed, whatever its kind: for {@link
   * io.raftkit.api.EntryKind#BLANK} and {@link io.raftkit.api.EntryKind#MEMBERSHIP} entries the
   * state machine only records {@code entry.logId()} as applied and returns {@code null}.
   *
   * <p>Must be deterministic: every node applies the same entries and must reach the same state.
   * An exception thrown here is fatal: the node stops, since skipping an entry would make this
   * replica diverge.
   *
   * @param entry the next committed entry
   * @return the result handed to the client that wrote the entry (may be {@code null})
   */
  R apply(Entry entry);

  /**
   * Captures the state as of the last applied entry, for a snapshot. Called on the apply thread,
   * so no entry is applied meanwhile: it must be quick (take an immutable or copy-on-write view,
   * not the bytes). The returned source is then written out on another thread while {@link
   * #apply} goes on, so it must not read state that later entries change.
   *
   * <p>The default refuses: a state machine without snapshots never lets the log be purged, and
   * a follower that is too far behind cannot be brought up to date once it has been.
   *
   * @return what writes the snapshot's bytes
   * @throws UnsupportedOperationException if this state machine does not build snapshots
   */
  default SnapshotSource snapshot() {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not implement StateMachine.snapshot()");
  }

  /**
   * Replaces the whole state with a snapshot's, as written by a {@link SnapshotSource}; afterwards
   * {@link #lastApplied()} is {@code meta.lastLogId()}. Called on the apply thread, when a node
   * starts from a snapshot newer than its state or a leader has sent one.
   *
   * @param meta what the snapshot holds
   * @param data the snapshot's bytes; the caller closes it
   * @throws IOException if the data cannot be read or is malformed (fatal to the node)
   * @throws UnsupportedOperationException if this state machine does not restore snapshots
   */
  default void restore(final SnapshotMeta meta, final InputStream data) throws IOException {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not implement StateMachine.restore()");
  }
}
