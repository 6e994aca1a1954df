package io.raftkit.engine.core;

import io.raftkit.api.LogId;
import java.util.Arrays;

/**
 * What the engine knows of its log without holding the entries: the term of every index (as runs
 * of equal terms) and the payload size of every entry (to bound append requests by bytes).
 *
 * <p>Memory: 4 bytes per entry held plus 16 bytes per term change; purging the log frees both.
 * Not thread-safe: owned by the engine.
 */
final class LogTracker {
  private LogId purged = LogId.ZERO;
  private long lastIndex;

  // runStart[i] is the first index of run i, whose entries all have term runTerm[i].
  private long[] runStart = new long[8];
  private long[] runTerm = new long[8];
  private int runs;

  // The payload size of entry purged.index + 1 + k sits at slot sizesHead + k of the chunk list.
  // Chunks, not one array: doubling a big array copied tens of MiB at 2^23 entries, and the GC
  // pause cost a leader its lease in raft-bench.
  private static final int SHIFT = 12;
  private static final int CHUNK = 1 << SHIFT;
  private static final int MASK = CHUNK - 1;
  private final java.util.ArrayList<int[]> sizeChunks = new java.util.ArrayList<>();
  private int sizesHead;

  LogId purgedLogId() {
    return purged;
  }

  long lastIndex() {
    return lastIndex;
  }

  LogId lastLogId() {
    return lastIndex == purged.index() ? purged : LogId.of(runTerm[runs - 1], lastIndex);
  }

  /** The term at {@code index}, or -1 if the index is purged (below the purged id) or absent. */
  long termAt(final long index) {
    if (index == purged.index()) {
      return purged.term();
    }
    if (index < purged.index() || index > lastIndex) {
      return -1;
    }
    return runTerm[runOf(index)];
  }

  /** The log id at {@code index}; {@code index} must be the purged index or held. */
  LogId logIdAt(final long index) {
    final long term = termAt(index);
    if (term < 0) {
      throw new IllegalArgumentException(
          "no log id at index=" + index + ", purged=" + purged + ", last=" + lastIndex);
    }
    return LogId.of(term, index);
  }

  /** The first index of the run of equal terms holding {@code index} (a held index). */
  long firstIndexOfTermAt(final long index) {
    return runStart[runOf(index)];
  }

  /** The payload size of the held entry at {@code index}. */
  int sizeAt(final long index) {
    final int p = sizesHead + (int) (index - purged.index() - 1);
    return sizeChunks.get(p >>> SHIFT)[p & MASK];
  }

  private int runOf(final long index) {
    int lo = 0;
    int hi = runs - 1;
    while (lo < hi) {
      final int mid = (lo + hi + 1) >>> 1;
      if (runStart[mid] <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** Records an entry appended at {@code lastIndex + 1}. */
  void append(final long term, final int size) {
    if (runs > 0 && term < runTerm[runs - 1]) {
      throw new IllegalStateException(
          "term=" + term + " of index=" + (lastIndex + 1) + " is below the last term=" + runTerm[runs - 1]);
    }
    lastIndex++;
    if (runs == 0 || runTerm[runs - 1] != term) {
      if (runs == runStart.length) {
        runStart = Arrays.copyOf(runStart, runs * 2);
        runTerm = Arrays.copyOf(runTerm, runs * 2);
      }
      runStart[runs] = lastIndex;
      runTerm[runs] = term;
      runs++;
    }
    final int p = sizesHead + (int) (lastIndex - purged.index() - 1);
    if ((p >>> SHIFT) == sizeChunks.size()) {
      sizeChunks.add(new int[CHUNK]);
    }
    sizeChunks.get(p >>> SHIFT)[p & MASK] = size;
  }

  /** Forgets the entries {@code [fromIndex, lastIndex]}; {@code fromIndex > purged index}. */
  void truncateFrom(final long fromIndex) {
    if (fromIndex <= purged.index()) {
      throw new IllegalStateException(
          "cannot truncate from index=" + fromIndex + " at or below purged=" + purged);
    }
    if (fromIndex > lastIndex) {
      return;
    }
    lastIndex = fromIndex - 1;
    final int needed = (sizesHead + (int) (lastIndex - purged.index()) + MASK) >>> SHIFT;
    while (sizeChunks.size() > needed) {
      sizeChunks.remove(sizeChunks.size() - 1);
    }
    while (runs > 0 && runStart[runs - 1] > lastIndex) {
      runs--;
    }
  }

  /** Forgets the entries up to and including {@code upTo}, which becomes the purged id. */
  void purgeUpTo(final LogId upTo) {
    if (upTo.index() <= purged.index()) {
      return;
    }
    if (upTo.index() >= lastIndex) {
      runs = 0;
      sizesHead = 0;
      sizeChunks.clear();
      lastIndex = upTo.index();
      purged = upTo;
      return;
    }
    sizesHead += (int) (upTo.index() - purged.index());
    while (sizesHead >= CHUNK) {
      sizeChunks.remove(0);
      sizesHead -= CHUNK;
    }
    purged = upTo;
    int drop = 0;
    while (drop + 1 < runs && runStart[drop + 1] <= upTo.index() + 1) {
      drop++;
    }
    if (drop > 0) {
      System.arraycopy(runStart, drop, runStart, 0, runs - drop);
      System.arraycopy(runTerm, drop, runTerm, 0, runs - drop);
      runs -= drop;
    }
    runStart[0] = upTo.index() + 1;
  }
}
