package io.raftkit.api.spi;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import java.io.IOException;
import java.util.List;

/**
 * The Raft log of one node: a contiguous run of entries {@code [firstIndex, lastIndex]} after a
 * purged prefix.
 *
 * <p><b>Ranges</b> are half-open: {@code read(from, to)} reads {@code [from, to)}. <b>Durability:
 * </b> {@link #append} and {@link #truncateSuffix} need not be durable until {@link #sync}
 * returns; after a crash the log holds at least everything synced, and possibly a prefix of what
 * came after (never a gap, never an entry that was truncated before the last sync).
 *
 * <p><b>Threading:</b> writes come from one thread; reads may come from any thread concurrently
 * with writes, and see the log as it was at some point between the writes.
 *
 * <p><b>Illegal calls</b> (a gap, a range outside the log, use after close) throw {@link
 * IllegalArgumentException} or {@link IllegalStateException} naming the indexes, and change
 * nothing. An {@link IOException} is fatal to the node.
 */
public interface LogStore {

  /**
   * The id of the last entry, or the last purged id if the log is empty, or {@link LogId#ZERO}.
   */
  LogId lastLogId();

  /** The id of the last purged entry, or {@link LogId#ZERO} if nothing was purged. */
  LogId purgedLogId();

  /** The index of the first entry held: {@code purgedLogId().index() + 1}. */
  default long firstIndex() {
    return purgedLogId().index() + 1;
  }

  /**
   * Appends entries after the last one. Not durable until {@link #sync}.
   *
   * @param entries consecutive entries; the first must have index {@code lastLogId().index() + 1}
   * @throws IllegalArgumentException on a gap or an overlap, or an entry whose term is below the
   *     previous entry's term; nothing is appended
   * @throws IOException if writing fails (fatal)
   */
  void append(List<Entry> entries) throws IOException;

  /**
   * Makes every earlier {@link #append} and {@link #truncateSuffix} durable.
   *
   * @throws IOException if syncing fails (fatal)
   */
  void sync() throws IOException;

  /**
   * Removes the entries {@code [fromIndex, lastIndex]}. Takes effect for reads at once; durable
   * by the next {@link #sync} at the latest.
   *
   * @param fromIndex the first index to remove; {@code firstIndex() <= fromIndex}; an index past
   *     the end removes nothing
   * @throws IllegalArgumentException if {@code fromIndex} is in the purged prefix
   * @throws IOException if writing fails (fatal)
   */
  void truncateSuffix(long fromIndex) throws IOException;

  /**
   * Removes the entries up to and including {@code upTo}; afterwards {@link #purgedLogId()} is
   * {@code upTo}. Purging past the last entry empties the log. Need not be durable: after a crash
   * purged entries may reappear, but never fewer than were synced.
   *
   * @throws IllegalArgumentException if {@code upTo} is below the purged id; purging at the purged
   *     index again does nothing
   * @throws IOException if writing fails (fatal)
   */
  void purgePrefix(LogId upTo) throws IOException;

  /**
   * Reads entries {@code [fromIndex, toIndex)}, stopping early after the first entry that brings
   * the total payload to {@code maxBytes} or more (at least one entry is returned for a non-empty
   * range).
   *
   * @return the entries, in order; a list the caller may keep
   * @throws IllegalArgumentException if the range is not within {@code [firstIndex, lastIndex +
   *     1]}, or {@code fromIndex > toIndex}
   * @throws IOException if reading fails
   */
  List<Entry> read(long fromIndex, long toIndex, long maxBytes) throws IOException;
}
