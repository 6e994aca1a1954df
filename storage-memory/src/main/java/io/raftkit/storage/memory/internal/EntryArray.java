package io.raftkit.storage.memory.internal;

import io.raftkit.api.Entry;
import java.util.ArrayList;

/**
 * The entries of a log, {@code [firstIndex, lastIndex]}, in fixed-size chunks of 4096 slots:
 * appending, reading by index and truncating the suffix are O(1); purging the prefix drops whole
 * chunks.
 *
 * <p>Why chunks: a single array doubled by copying; at 2^23 entries that meant a 32 MiB copy and a
 * humongous allocation, and the GC pause cost a leader its lease in raft-bench. Chunks never copy.
 *
 * <p>Not thread-safe: {@link DurableStore} guards it with its lock.
 */
final class EntryArray {

  private static final int SHIFT = 12;
  private static final int CHUNK = 1 << SHIFT;
  private static final int MASK = CHUNK - 1;

  private final ArrayList<Entry[]> chunks = new ArrayList<>();
  /** The slot of {@code firstIndex} in the first chunk. */
  private int headOffset;
  private int size;
  private long firstIndex = 1;

  /** The index of the first entry held, or where it would go if empty. */
  long firstIndex() {
    return firstIndex;
  }

  /** The index of the last entry held, or {@code firstIndex() - 1} if empty. */
  long lastIndex() {
    return firstIndex + size - 1;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** The entry at {@code index}; the caller checks that it is held. */
  Entry get(final long index) {
    final int p = headOffset + (int) (index - firstIndex);
    return chunks.get(p >>> SHIFT)[p & MASK];
  }

  /** The last entry; the caller checks that there is one. */
  Entry last() {
    return get(lastIndex());
  }

  /** Adds an entry after the last; the caller checks its index. */
  void add(final Entry entry) {
    final int p = headOffset + size;
    if ((p >>> SHIFT) == chunks.size()) {
      chunks.add(new Entry[CHUNK]);
    }
    chunks.get(p >>> SHIFT)[p & MASK] = entry;
    size++;
  }

  /** Removes {@code [fromIndex, lastIndex]}; {@code firstIndex <= fromIndex <= lastIndex + 1}. */
  void truncateFrom(final long fromIndex) {
    final int keep = (int) (fromIndex - firstIndex);
    for (int p = headOffset + keep; p < headOffset + size; p++) {
      chunks.get(p >>> SHIFT)[p & MASK] = null;
    }
    size = keep;
    final int needed = (headOffset + size + MASK) >>> SHIFT;
    while (chunks.size() > needed) {
      chunks.remove(chunks.size() - 1);
    }
  }

  /**
   * Removes every entry up to and including {@code upToIndex}; the next entry is expected at
   * {@code max(lastIndex, upToIndex) + 1}. {@code upToIndex >= firstIndex - 1}.
   */
  void purgeTo(final long upToIndex) {
    if (upToIndex >= lastIndex()) {
      chunks.clear();
      headOffset = 0;
      size = 0;
      firstIndex = upToIndex + 1;
      return;
    }
    final int n = (int) (upToIndex + 1 - firstIndex);
    for (int p = headOffset; p < headOffset + n; p++) {
      chunks.get(p >>> SHIFT)[p & MASK] = null;
    }
    headOffset += n;
    size -= n;
    firstIndex = upToIndex + 1;
    while (headOffset >= CHUNK) {
      chunks.remove(0);
      headOffset -= CHUNK;
    }
  }
}
