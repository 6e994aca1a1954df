package io.raftkit.storage.file.internal;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.LogStore;
import io.raftkit.storage.support.Fs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log as a directory of {@link Segment} files, each holding consecutive entries.
 *
 * <p><b>Group commit.</b> {@link #append} writes records to the page cache with one positional
 * write per 256 KiB; {@link #sync} forces the active segment once ({@code fdatasync}) and the
 * directory only if segments were created since the last sync. A segment that fills up is sealed
 * when the next one is begun: forced, its final sync slot written and forced again, so that a
 * sealed segment is durable whole and only the last segment can have a torn tail.
 *
 * <p><b>Preallocation</b> (option {@code file.preallocate}, on by default). An {@code fdatasync}
 * that follows a write extending the file must also commit the new size (a file-system journal
 * commit); one that follows an overwrite of blocks already written need not, and is about twice
 * as fast (measured on ext4: 20 KB write + force p50 460-540 µs extending, 210-345 µs
 * overwriting). So once the active segment is more than half full, a {@link Preallocator} thread
 * writes the next segment file ahead of time, zero-filled to the segment size and forced; a roll
 * takes it if it is ready (header, force, atomic rename) and otherwise creates a segment as
 * before, never waiting. Records are then written over zeros and the group commit's force
 * changes no size. Recovery takes an all-zero tail after the synced end as the clean end of a
 * segment (see {@link Segment}); truncation gives up a segment's preallocation. The cost: the
 * disk writes every segment twice (zeros, then records), in the background, until purges free
 * segments: a purged segment file (at least half the segment size) is then reused for the next
 * one instead of writing zeros (see {@link Preallocator}, "Recycling"), and a recycled segment is
 * cut at its records' end when it is sealed or the log closes.
 *
 * <p>A segment that was not made from a prepared file (the first one of a new log, a roll that
 * found none ready, the last segment after a reopen) is zeroed ahead by the writer itself: a
 * write that goes past the file's size also writes zeros to the next 1 MiB step (never past the
 * segment size), so one group commit in a MiB pays for the size change and the rest overwrite.
 * Without it a log that writes little (one client: a few hundred KB/s) would spend its first
 * 64 MiB, minutes, on extending syncs.
 *
 * <p><b>Purge</b> deletes only segments whose every entry is purged; a segment that crosses the
 * purged index stays and its purged records are simply not served. A purge that deletes a file
 * records the new purged id in the state file first (atomically: a write, two syncs and a
 * rename). One that deletes none, the common case (a snapshot every 10,000 entries, a segment of
 * 64 MiB), leaves the state file until the next segment is created or the log closes: the
 * {@link LogStore#purgePrefix} contract lets purged entries reappear after a crash, and at
 * several snapshots a second the log writer otherwise spent two syncs per purge between its
 * group commits.
 *
 * <p><b>Truncation</b> deletes whole later segments (last first, then syncs the directory, so a
 * crash leaves a contiguous log) and cuts the file holding the new last entry.
 *
 * <p><b>Recovery on open</b> reads every record of every segment once, checks its checksum and
 * rebuilds the offset index. A bad record before the segment's synced end, or a gap between
 * segments, is corruption: open fails naming the file and the offset. A bad record at or after
 * the synced end followed by nothing but zeros to the file end is the clean end of a preallocated
 * segment (last or sealed), kept as it is. Any other bad record at or after the synced end is, in
 * the last segment, a torn write: the tail is cut off and a warning names the file and the offset;
 * in a sealed segment, corruption. Leftover {@code *.tmp} files (a segment never renamed into
 * place, a preallocated file never used) are deleted. Trade-off: open reads the whole log (and
 * the zero tails), which the engine does anyway to rebuild its term index; in exchange nothing
 * damaged is ever served.
 *
 * <p><b>Threading.</b> One writer thread calls the write methods; reads come from any thread. A
 * read-write lock guards the segment list and the offset indexes: reads hold the read lock while
 * they read files (so a segment cannot be deleted under them), writes hold the write lock only to
 * publish what they already wrote. {@link #sync} takes no lock. The preallocation thread touches
 * only its own temporary file, handed over to the writer thread under the preparer's monitor.
 */
final class SegmentedLog implements LogStore {

  private static final Logger LOG = LoggerFactory.getLogger(SegmentedLog.class);
  private static final int WRITE_BUFFER_BYTES = 256 * 1024;

  /** Persists a new purged id durably before segments are deleted. */
  interface PurgeRecorder {
    void recordPurged(LogId purged) throws IOException;
  }

  private final Path dir;
  private final int segmentBytes;
  private final PurgeRecorder purgeRecorder;
  /** Prepares the next segment file, or null if preallocation is off. */
  private final Preallocator prealloc;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  // Guarded by lock (written by the writer thread under the write lock).
  private final ArrayList<Segment> segments = new ArrayList<>();
  private LogId purged;
  private LogId last;
  private boolean closed;

  // Writer thread only.
  private ByteBuffer buf = ByteBuffer.allocate(WRITE_BUFFER_BYTES);
  private boolean dirty;
  private boolean dirDirty;
  private volatile int preparedRolls;
  private volatile int recycledSegments;
  /** A purged id not yet in the state file (writer thread), or null. */
  private LogId unrecordedPurge;
  private volatile LogId committed = LogId.ZERO;

  private SegmentedLog(
      final Path dir,
      final int segmentBytes,
      final boolean preallocate,
      final LogId purged,
      final PurgeRecorder purgeRecorder) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.prealloc = preallocate ? new Preallocator(dir, segmentBytes) : null;
    this.purged = purged;
    this.last = purged;
    this.purgeRecorder = purgeRecorder;
  }

  /**
   * Opens the log in {@code dir}, recovering as described on the class.
   *
   * @param preallocate whether to prepare segment files ahead of time (see {@link Preallocator})
   * @param warnings where to add a message for every torn tail cut off
   * @throws IOException on corruption, naming the file and the offset
   */
  static SegmentedLog open(
      final Path dir,
      final int segmentBytes,
      final boolean preallocate,
      final LogId purged,
      final PurgeRecorder purgeRecorder,
      final List<String> warnings)
      throws IOException {
    Files.createDirectories(dir);
    final TreeMap<Long, Path> files = new TreeMap<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (final Path p : ds) {
        final String name = p.getFileName().toString();
        if (name.endsWith(".tmp")) {
          Files.delete(p); // a segment never renamed into place, or a preallocated file never used
          continue;
        }
        final long first = Segment.parseFirstIndex(name);
        if (first < 1) {
          throw new IOException("unexpected file=" + p + " in log directory=" + dir);
        }
        files.put(first, p);
      }
    }
    // Segments whose successor starts at or below purged + 1 hold only purged entries: a purge
    // recorded its id and crashed before deleting them.
    final List<Long> firsts = new ArrayList<>(files.keySet());
    boolean deleted = false;
    for (int i = 0; i + 1 < firsts.size(); i++) {
      if (firsts.get(i + 1) <= purged.index() + 1) {
        Files.delete(files.remove(firsts.get(i)));
        deleted = true;
      }
    }
    final SegmentedLog log = new SegmentedLog(dir, segmentBytes, preallocate, purged, purgeRecorder);
    try {
      LogId prev = LogId.ZERO;
      final List<Path> paths = new ArrayList<>(files.values());
      for (int i = 0; i < paths.size(); i++) {
        final boolean isLast = i == paths.size() - 1;
        final long first = Segment.parseFirstIndex(paths.get(i).getFileName().toString());
        if (i == 0 && first > purged.index() + 1) {
          throw new IOException("corrupt log: first segment file=" + paths.get(i) + " starts at index=" + first
              + " but the purged id is " + purged + ": entries " + (purged.index() + 1) + ".." + (first - 1)
              + " are missing");
        }
        final List<Segment.Recovery> cuts = new ArrayList<>();
        final Segment seg = Segment.open(paths.get(i), first, prev, isLast, cuts);
        if (preallocate && isLast) {
          seg.zeroAhead(segmentBytes);
        }
        log.segments.add(seg);
        for (final Segment.Recovery cut : cuts) {
          final String msg = "cut off a torn write at the end of the log: file=" + seg.path() + " offset="
              + cut.cutOffset() + " bytes=" + cut.cutBytes() + " (" + cut.reason() + "); entries after index="
              + seg.lastIndex() + " were not synced";
          LOG.warn(msg);
          warnings.add(msg);
        }
        if (seg.count() > 0) {
          prev = LogId.of(seg.lastTerm(), seg.lastIndex());
        }
      }
      // A last segment with nothing beyond the purged id is deleted too.
      while (!log.segments.isEmpty() && log.segments.get(log.segments.size() - 1).lastIndex() <= purged.index()) {
        log.segments.remove(log.segments.size() - 1).delete();
        deleted = true;
      }
      if (deleted) {
        Fs.syncDirectory(dir);
      }
      log.last = log.computeLast();
      for (final Segment s : log.segments) {
        if (s.slotCommitted().index() > log.committed.index()) {
          log.committed = s.slotCommitted();
        }
      }
      return log;
    } catch (final IOException | RuntimeException e) {
      for (final Segment s : log.segments) {
        s.close();
      }
      throw e;
    }
  }

  private LogId computeLast() throws IOException {
    for (int i = segments.size() - 1; i >= 0; i--) {
      final Segment s = segments.get(i);
      if (s.count() > 0) {
        return s.lastIndex() <= purged.index() ? purged : LogId.of(s.lastTerm(), s.lastIndex());
      }
    }
    return purged;
  }

  /** The committed hint found in the segments' sync slots at open, or saved since. */
  LogId committed() {
    return committed;
  }

  /** Sets the committed hint, written with the next sync's slot. */
  void setCommitted(final LogId c) {
    committed = c;
  }

  /** Throws {@link IllegalStateException} if closed; call under the lock. */
  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("file storage log dir=" + dir + " is closed");
    }
  }

  /** Throws {@link IllegalStateException} if the log is closed. */
  void checkOpen() {
    lock.readLock().lock();
    try {
      ensureOpen();
    } finally {
      lock.readLock().unlock();
    }
  }

  // ------------------------------------------------------------------ reads

  /** {@inheritDoc} */
  @Override
  public LogId lastLogId() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return last;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public LogId purgedLogId() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return purged;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public List<Entry> read(final long fromIndex, final long toIndex, final long maxBytes) throws IOException {
    lock.readLock().lock();
    try {
      ensureOpen();
      final long first = purged.index() + 1;
      final long end = last.index() + 1;
      if (fromIndex > toIndex || fromIndex < first || toIndex > end) {
        throw new IllegalArgumentException(
            "read range [fromIndex=" + fromIndex + ", toIndex=" + toIndex + ") is not within the log [firstIndex="
                + first + ", lastIndex+1=" + end + "] of file storage dir=" + dir);
      }
      final List<Entry> out = new ArrayList<>((int) Math.min(toIndex - fromIndex, 1024));
      long i = fromIndex;
      long bytes = 0;
      int si = fromIndex < toIndex ? segmentOf(fromIndex) : segments.size();
      while (i < toIndex) {
        final Segment s = segments.get(si);
        final long segEnd = Math.min(toIndex, s.lastIndex() + 1);
        long stop = i;
        while (stop < segEnd) {
          bytes += s.payloadBytes(stop);
          stop++;
          if (bytes >= maxBytes) {
            break;
          }
        }
        s.read(i, stop, out);
        i = stop;
        si++;
        if (bytes >= maxBytes) {
          break;
        }
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The position in {@link #segments} of the segment holding {@code index}; under the lock. */
  private int segmentOf(final long index) {
    int lo = 0;
    int hi = segments.size() - 1;
    while (lo < hi) {
      final int mid = (lo + hi + 1) >>> 1;
      if (segments.get(mid).firstIndex() <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  // ------------------------------------------------------------------ writes

  /** {@inheritDoc} */
  @Override
  public void append(final List<Entry> entries) throws IOException {
    Objects.requireNonNull(entries, "entries");
    checkOpen();
    if (entries.isEmpty()) {
      return;
    }
    checkAppend(entries);
    final List<Segment> touched = new ArrayList<>(2);
    final List<Segment> created = new ArrayList<>(0);
    Segment seg = segments.isEmpty() ? null : segments.get(segments.size() - 1);
    if (seg != null) {
      touched.add(seg);
    }
    buf.clear();
    for (final Entry e : entries) {
      final int rec = Segment.RECORD_HEADER_BYTES + e.payload().length;
      if (seg == null || (seg.hasRecords() && seg.endWithPending() + buf.position() + rec > segmentBytes)) {
        flush(seg);
        seg = roll(seg, e.index());
        created.add(seg);
        touched.add(seg);
      }
      if (buf.position() + rec > buf.capacity()) {
        flush(seg);
        if (rec > buf.capacity()) {
          buf = ByteBuffer.allocate(rec);
        }
      }
      seg.notePending(seg.endWithPending() + buf.position(), e.term());
      encode(e);
    }
    flush(seg);
    if (buf.capacity() > WRITE_BUFFER_BYTES) {
      buf = ByteBuffer.allocate(WRITE_BUFFER_BYTES);
    }
    dirty = true;
    final Entry lastEntry = entries.get(entries.size() - 1);
    lock.writeLock().lock();
    try {
      segments.addAll(created);
      for (final Segment s : touched) {
        s.publish();
      }
      last = lastEntry.logId();
    } finally {
      lock.writeLock().unlock();
    }
    if (prealloc != null && seg.end() > segmentBytes / 2) {
      prealloc.start();
    }
  }

  private void checkAppend(final List<Entry> batch) {
    long expected = last.index() + 1;
    long prevTerm = last.term();
    for (final Entry e : batch) {
      Objects.requireNonNull(e, "entry");
      if (e.index() != expected) {
        final String what = e.index() > expected ? "a gap" : "an overlap";
        throw new IllegalArgumentException(
            "append of entry index=" + e.index() + " makes " + what + ": expected index=" + expected + " (lastLogId="
                + last + ", batch " + batch.get(0).logId() + ".." + batch.get(batch.size() - 1).logId()
                + ") in file storage dir=" + dir);
      }
      if (e.term() < prevTerm) {
        throw new IllegalArgumentException(
            "append of entry " + e.logId() + " has term=" + e.term() + " below the previous term=" + prevTerm
                + " in file storage dir=" + dir);
      }
      if (e.payload().length > Segment.MAX_PAYLOAD_BYTES) {
        throw new IllegalArgumentException(
            "entry " + e.logId() + " payload=" + e.payload().length + " bytes exceeds the maximum="
                + Segment.MAX_PAYLOAD_BYTES);
      }
      expected++;
      prevTerm = e.term();
    }
  }

  private void encode(final Entry e) {
    final int at = buf.position();
    final int length = Segment.BODY_FIXED_BYTES + e.payload().length;
    buf.putInt(length).putInt(0).putLong(e.index()).putLong(e.term()).put((byte) e.kind().code()).put(e.payload());
    final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(buf.array(), at, 4);
    crc.update(buf.array(), at + 8, length);
    buf.putInt(at + 4, (int) crc.getValue());
  }

  private void flush(final Segment seg) throws IOException {
    if (seg != null && buf.position() > 0) {
      buf.flip();
      seg.writeAtEnd(buf);
      buf.clear();
    }
  }

  /**
   * Seals {@code full} (if any) and creates the segment that starts at {@code firstIndex}: from
   * the prepared file if one is ready (never waiting for it), else a new, unpreallocated file.
   */
  private Segment roll(final Segment full, final long firstIndex) throws IOException {
    recordPurge();
    if (full != null) {
      full.force();
      full.writeSlot(full.endWithPending(), committed);
      if (!full.dropStaleTail()) { // forces the slot too when it cuts
        full.force();
      }
    }
    dirDirty = true;
    if (prealloc != null) {
      prealloc.rolled();
      final Preallocator.Prepared prepared = prealloc.take();
      if (prepared != null) {
        try {
          final Segment seg = Segment.createFromPrepared(dir, firstIndex, prepared);
          seg.zeroAhead(segmentBytes);
          preparedRolls++;
          return seg;
        } catch (final IOException e) {
          LOG.warn("could not use the preallocated file={} for log segment first index={}; creating it anew: {}",
              prepared.path(), firstIndex, e.toString());
        }
      }
    }
    final Segment seg = Segment.create(dir, firstIndex);
    if (prealloc != null) {
      seg.zeroAhead(segmentBytes);
    }
    return seg;
  }

  /** {@inheritDoc} One {@code fdatasync} of the active segment; the directory only if needed. */
  @Override
  public void sync() throws IOException {
    checkOpen();
    final Segment active = segments.isEmpty() ? null : segments.get(segments.size() - 1);
    if (active != null && dirty) {
      active.force();
    }
    if (dirDirty) {
      Fs.syncDirectory(dir);
      dirDirty = false;
    }
    if (active != null && (dirty || !active.slotCommitted().equals(committed))) {
      active.writeSlot(active.end(), committed);
    }
    dirty = false;
  }

  /** {@inheritDoc} */
  @Override
  public void truncateSuffix(final long fromIndex) throws IOException {
    checkOpen();
    if (fromIndex <= purged.index()) {
      throw new IllegalArgumentException(
          "truncateSuffix fromIndex=" + fromIndex + " is in the purged prefix (purgedLogId=" + purged
              + ") of file storage dir=" + dir);
    }
    if (fromIndex > last.index()) {
      return;
    }
    final int si = segmentOf(fromIndex);
    final Segment holder = segments.get(si);
    final boolean dropHolder = fromIndex == holder.firstIndex();
    final long newLastIndex = fromIndex - 1;
    final long newLastTerm;
    if (newLastIndex <= purged.index()) {
      newLastTerm = purged.term();
    } else if (dropHolder) {
      newLastTerm = segments.get(si - 1).lastTerm();
    } else {
      newLastTerm = holder.readTerm(newLastIndex);
    }
    final List<Segment> removed;
    lock.writeLock().lock();
    try {
      final List<Segment> tail = segments.subList(dropHolder ? si : si + 1, segments.size());
      removed = new ArrayList<>(tail);
      tail.clear();
      if (!dropHolder) {
        holder.dropIndexFrom(fromIndex);
        holder.setLastTerm(newLastTerm);
      }
      last = newLastIndex <= purged.index() ? purged : LogId.of(newLastTerm, newLastIndex);
      if (committed.index() > last.index()) {
        committed = last;
      }
    } finally {
      lock.writeLock().unlock();
    }
    for (int i = removed.size() - 1; i >= 0; i--) {
      removed.get(i).delete();
    }
    if (!removed.isEmpty()) {
      Fs.syncDirectory(dir);
    }
    if (!dropHolder) {
      holder.cutFile(committed);
    }
    dirty = true;
  }

  /** {@inheritDoc} */
  @Override
  public void purgePrefix(final LogId upTo) throws IOException {
    Objects.requireNonNull(upTo, "upTo");
    checkOpen();
    if (upTo.index() < purged.index()) {
      throw new IllegalArgumentException(
          "purgePrefix upTo=" + upTo + " is below purgedLogId=" + purged + " of file storage dir=" + dir);
    }
    if (upTo.index() == purged.index()) {
      return;
    }
    // The segments to delete: the writer thread alone changes the list, so no lock to count them.
    int whole = 0;
    while (whole < segments.size()) {
      final long segLast =
          whole + 1 < segments.size() ? segments.get(whole + 1).firstIndex() - 1 : segments.get(whole).lastIndex();
      if (segLast > upTo.index()) {
        break;
      }
      whole++;
    }
    if (whole > 0) {
      purgeRecorder.recordPurged(upTo); // durable before any file goes
      unrecordedPurge = null;
    } else {
      unrecordedPurge = upTo; // recorded before the next segment is created, or on close
    }
    final List<Segment> removed = new ArrayList<>();
    lock.writeLock().lock();
    try {
      purged = upTo;
      for (int i = 0; i < whole; i++) {
        removed.add(segments.remove(0));
      }
      if (upTo.index() >= last.index()) {
        last = upTo;
      }
    } finally {
      lock.writeLock().unlock();
    }
    for (final Segment s : removed) {
      recycleOrDelete(s);
    }
    if (!removed.isEmpty()) {
      dirDirty = true;
    }
  }

  /**
   * Hands a purged segment's file to the preallocator for reuse if it is at least half the
   * segment size, else (or if the preallocator keeps one already) deletes it. Only purged
   * segments come here: their entries are never written again, so their records left in a reused
   * file can never pass for new ones (see {@link Segment}, "Recycled segments").
   */
  private void recycleOrDelete(final Segment s) throws IOException {
    if (prealloc != null && s.fileBytes() >= segmentBytes / 2) {
      s.close();
      if (prealloc.offerRecycled(s.path())) {
        recycledSegments++;
        return;
      }
    }
    s.delete();
  }

  /**
   * Records a purge that removed no file (see {@link #purgePrefix}) in the state file. Before a
   * segment is created: a new segment may start past the last entry (after a purge that emptied
   * the log), and recovery takes a first segment that starts after the recorded purged id + 1 as
   * entries lost.
   */
  private void recordPurge() throws IOException {
    if (unrecordedPurge != null) {
      purgeRecorder.recordPurged(unrecordedPurge);
      unrecordedPurge = null;
    }
  }

  /** Syncs and closes every segment; later calls throw {@link IllegalStateException}. Idempotent. */
  void close() throws IOException {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      if (prealloc != null) {
        prealloc.close(); // stops and waits for the preparing thread, deletes its file
      }
      IOException failure = null;
      try {
        sync();
        recordPurge();
        if (!segments.isEmpty()) {
          // A recycled last segment: no stale records past its end for the next open to cut.
          segments.get(segments.size() - 1).dropStaleTail();
        }
      } catch (final IOException e) {
        failure = e;
      }
      closed = true;
      for (final Segment s : segments) {
        try {
          s.close();
        } catch (final IOException e) {
          if (failure == null) {
            failure = e;
          } else {
            failure.addSuppressed(e);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** The preparer of segment files, or null if preallocation is off; for tests. */
  Preallocator preallocator() {
    return prealloc;
  }

  /** How many purged segment files were handed over for reuse (writer thread); for tests. */
  int recycledSegments() {
    return recycledSegments;
  }

  /** How many segments were made from a prepared file (writer thread); for tests. */
  int preparedRolls() {
    return preparedRolls;
  }

  /** The segment files, for tests. */
  List<Path> segmentFiles() {
    lock.readLock().lock();
    try {
      final List<Path> out = new ArrayList<>();
      for (final Segment s : segments) {
        out.add(s.path());
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "SegmentedLog{dir=" + dir + ", purged=" + purged + ", last=" + last + ", segments=" + segments.size() + "}";
  }
}
