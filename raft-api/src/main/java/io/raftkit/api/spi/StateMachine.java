package io.raftkit.api.spi;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;

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
}
