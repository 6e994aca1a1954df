package io.raftkit.storage.memory.internal;

import io.raftkit.api.Entry;
import java.util.Arrays;

/**
 * The entries of a log, {@code [firstIndex, lastIndex]}, in one array used as a window: {@code
 * head} is where {@code firstIndex} sits. Appending, reading by index and truncating the suffix
 * are O(1) (amortized for appends); purging the prefix moves {@code head} and compacts only once
 * the dead prefix is half the array, so it is amortized O(1) per purged entry too.
 *
 * <p>Trade-off: one array caps the log at about 2^31 entries held at once and copies the live
 * entries on growth; a chunked store would avoid the copy, but for a test provider the simpler
 * structure is faster in practice.
 *
 * <p>Not thread-safe: {@link DurableStore} guards it with its lock.
 */
final class EntryArray {

  private static final int INITIAL_CAPACITY = 64;

  private Entry[] buf = new Entry[INITIAL_CAPACITY];
  private int head;
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
    return buf[head + (int) (index - firstIndex)];
  }

  /** The last entry; the caller checks that there is one. */
  Entry last() {
    return buf[head + size - 1];
  }

  /** Adds an entry after the last; the caller checks its index. */
  void add(final Entry entry) {
    if (head + size == buf.length) {
      makeRoom();
    }
    buf[head + size] = entry;
    size++;
  }

  /** Removes {@code [fromIndex, lastIndex]}; {@code firstIndex <= fromIndex <= lastIndex + 1}. */
  void truncateFrom(final long fromIndex) {
    final int keep = (int) (fromIndex - firstIndex);
    Arrays.fill(buf, head + keep, head + size, null);
    size = keep;
  }

  /**
   * Removes every entry up to and including {@code upToIndex}; the next entry is expected at
   * {@code max(lastIndex, upToIndex) + 1}. {@code upToIndex >= firstIndex - 1}.
   */
  void purgeTo(final long upToIndex) {
    if (upToIndex >= lastIndex()) {
      Arrays.fill(buf, head, head + size, null);
      head = 0;
      size = 0;
      firstIndex = upToIndex + 1;
      if (buf.length > INITIAL_CAPACITY * 16) {
        buf = new Entry[INITIAL_CAPACITY];
      }
      return;
    }
    final int n = (int) (upToIndex + 1 - firstIndex);
    Arrays.fill(buf, head, head + n, null);
    head += n;
    size -= n;
    firstIndex = upToIndex + 1;
  }

  private void makeRoom() {
    if (head >= buf.length / 2) {
      // At least half the array is dead prefix: slide the live entries down instead of growing.
      System.arraycopy(buf, head, buf, 0, size);
      Arrays.fill(buf, size, head + size, null);
    } else {
      final Entry[] bigger = new Entry[Math.max(INITIAL_CAPACITY, buf.length * 2)];
      System.arraycopy(buf, head, bigger, 0, size);
      buf = bigger;
    }
    head = 0;
  }
}
