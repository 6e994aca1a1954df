package io.raftkit.engine.runtime;

import io.raftkit.api.Entry;
import java.util.List;

/**
 * The most recent entries of the log, kept in memory so a leader can replicate them before (and
 * without) reading them back from storage. Entries that are not yet durable are always here (the
 * storage may not have them yet); durable ones are evicted beyond {@code capacity}.
 *
 * <p>Not thread-safe: owned by the engine thread.
 */
final class EntryCache {
  private Entry[] ring;
  private int head;
  private int count;
  /** Index of the entry at {@code ring[head]}. */
  private long firstIndex = 1;
  private final int capacity;

  EntryCache(final int capacity) {
    this.capacity = capacity;
    this.ring = new Entry[Math.max(16, Integer.highestOneBit(capacity - 1) << 1)];
  }

  long firstIndex() {
    return firstIndex;
  }

  long lastIndex() {
    return firstIndex + count - 1;
  }

  boolean contains(final long index) {
    return count > 0 && index >= firstIndex && index <= lastIndex();
  }

  Entry get(final long index) {
    return ring[(int) ((head + index - firstIndex) & (ring.length - 1))];
  }

  /** Appends entries; if they do not follow the cached ones, the cache restarts at them. */
  void append(final List<Entry> entries) {
    for (int i = 0; i < entries.size(); i++) {
      final Entry e = entries.get(i);
      if (count == 0 || e.index() != lastIndex() + 1) {
        clear();
        firstIndex = e.index();
      }
      if (count == ring.length) {
        grow();
      }
      ring[(head + count) & (ring.length - 1)] = e;
      count++;
    }
  }

  /** Forgets the entries from {@code fromIndex} on. */
  void truncateFrom(final long fromIndex) {
    while (count > 0 && lastIndex() >= fromIndex) {
      ring[(head + count - 1) & (ring.length - 1)] = null;
      count--;
    }
  }

  /** Evicts the oldest entries beyond capacity, never one above {@code durableIndex}. */
  void evict(final long durableIndex) {
    while (count > capacity && firstIndex <= durableIndex) {
      ring[head] = null;
      head = (head + 1) & (ring.length - 1);
      count--;
      firstIndex++;
    }
  }

  void clear() {
    while (count > 0) {
      ring[head] = null;
      head = (head + 1) & (ring.length - 1);
      count--;
    }
    head = 0;
  }

  private void grow() {
    final Entry[] bigger = new Entry[ring.length * 2];
    for (int i = 0; i < count; i++) {
      bigger[i] = ring[(head + i) & (ring.length - 1)];
    }
    ring = bigger;
    head = 0;
  }
}
