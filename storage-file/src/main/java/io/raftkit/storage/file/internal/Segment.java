package io.raftkit.storage.file.internal;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.storage.support.Fs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One log segment file: a header, then records of consecutive entries, and an in-memory offset
 * index of those records (rebuilt by scanning on open).
 *
 * <pre>
 * Segment file "log-&lt;first index, 20 digits&gt;.seg", all numbers big-endian:
 *
 *   offset size
 *   0      8    magic "RKLOGSEG"
 *   8      4    format version (1)
 *   12     4    header size (128)
 *   16     8    first index: the index of the first record
 *   24     4    CRC32C of bytes [0, 24)
 *   28     4    zero
 *   32     40   sync slot A  \  the two slots are written alternately after each sync;
 *   72     40   sync slot B  /  the valid slot with the higher sequence is current
 *   112    16   zero
 *   128         records...
 *
 * Sync slot (40 bytes):
 *   0  8  sequence number (1, 2, 3...; slot A holds even ones, B odd ones)
 *   8  8  synced end: every byte of the file before it was forced (fdatasync) already
 *   16 8  committed term  \  the committed hint at that sync
 *   24 8  committed index /
 *   32 4  CRC32C of the slot's bytes [0, 32)
 *   36 4  zero
 *
 * Record (25-byte header + payload):
 *   +--------+--------+--------+--------+------+-------------------+
 *   | length | crc32c | index  | term   | kind | payload           |
 *   | int    | int    | long   | long   | byte | length - 17 bytes |
 *   +--------+--------+--------+--------+------+-------------------+
 *   length: the bytes after the crc field (17 + payload); crc32c: over the length field and
 *   those bytes (so a damaged length is caught too); kind: EntryKind.code().
 *
 * After the last record: nothing (the file ends there), or zeros to the end of the file in a
 * preallocated segment.
 * </pre>
 *
 * <p><b>Preallocated segments.</b> A segment may be made from a file the {@link Preallocator}
 * zero-filled to the segment size and forced beforehand ({@link #createFromPrepared}): records
 * are then written over zeros, so the {@code fdatasync} of a group commit does not have to make a
 * file-size change durable. Its file is longer than its records, which end where nothing but
 * zeros follows (a zero record header is never valid: {@code length=0}). No format change: the
 * version stays 1 (a build without preallocation would cut a zero tail off the last segment with
 * a warning and refuse a sealed segment with one as corrupt: downgrading is not supported).
 *
 * <p><b>Recycled segments.</b> The file the {@link Preallocator} prepared may instead be a
 * purged segment's, reused: past the new header (which overwrites the old header and both sync
 * slots) it holds the purged records, not zeros. No format change either. Recovery cannot take
 * them for entries: each has an index at most the purged index, below this segment's first, and
 * a record is only taken with the index that comes next. The rules below then see them as
 * anything other than zeros: in the last segment a tail that is cut off (after a clean close
 * there is none, because {@link SegmentedLog} cuts it at close); a sealed segment never has
 * them, because the roll that seals a recycled segment first cuts its file at the records' end
 * ({@link #dropStaleTail}).
 *
 * <p><b>Why the synced end lags.</b> A slot is written <em>after</em> the force that made its
 * synced end true, and is itself made durable by the next force of the file. So on disk the
 * synced end never claims more than was durable, even after power loss mid-force; after a process
 * crash (kill -9) the page cache holds the slot, so it is exact. Recovery trusts it: a bad record
 * before the synced end is corruption (refuse to open); at or after it, a torn write (cut off).
 * Two alternating slots with checksums keep a torn slot write from losing the previous value.
 *
 * <p><b>Recovery rules</b> ({@link #open}), for the first bad record at offset {@code p}:
 *
 * <ul>
 *   <li>{@code p} before the synced end: corruption, whatever the bytes there (zeros too: synced
 *       records were overwritten or lost).
 *   <li>{@code p} at or after the synced end, and every byte from {@code p} to the file size zero
 *       (all of it is read): the clean end of a preallocated segment, in the last segment or a
 *       sealed one. Nothing is reported or cut, the zeros stay for the next records.
 *   <li>otherwise, in the last segment: a torn tail, cut off by truncating the file at {@code p}
 *       (reported; the segment loses its preallocation, which is safe); in a sealed segment
 *       (durable whole when the next one was begun): corruption.
 * </ul>
 *
 * Why every byte, not just the next record header: after power loss, the pages of unsynced
 * records reach the disk in any order, so a zero (never written) header may be followed by a
 * later record that did reach it. Accepting the zeros as the end would leave that stale,
 * valid-looking record in the file, and records appended later over only part of the zeros
 * could end exactly where it starts and resurrect it on the next recovery. Truncating removes it.
 * The same holds for records written and then cut by {@link #cutFile}: it truncates the file
 * (giving up the preallocation) rather than leave cut records behind zeros.
 *
 * <p><b>Threading.</b> Written only by the log's writer thread; the index fields are changed
 * under the log's write lock and read under its read lock. The channel's positional reads are
 * safe concurrently with writes.
 */
final class Segment {

  static final int HEADER_BYTES = 128;
  static final int RECORD_HEADER_BYTES = 25;
  /** The bytes of a record's body (after length and crc) before the payload. */
  static final int BODY_FIXED_BYTES = 17;
  /** The largest payload a record may hold: 1 GiB. */
  static final int MAX_PAYLOAD_BYTES = 1 << 30;

  private static final long MAGIC = 0x524B_4C4F_4753_4547L; // "RKLOGSEG"
  private static final int VERSION = 1;
  private static final int SLOT_A = 32;
  private static final int SLOT_BYTES = 40;

  private final Path path;
  private final FileChannel channel;
  private final long firstIndex;

  // The offset index: offsets[i] is where the record of index firstIndex + i starts.
  private int[] offsets = new int[64];
  private int count;
  /** The end of the last record (the logical file size). */
  private long end = HEADER_BYTES;
  private long lastTerm;
  /**
   * The file's size as this writer made it: beyond {@link #end} (plus pending records) it holds
   * only zeros, written either by the {@link Preallocator} or by {@link #writeAtEnd} zeroing
   * ahead.
   */
  private long fileBytes = HEADER_BYTES;
  /** Up to where {@link #writeAtEnd} may zero ahead of the records; 0 = never (writer thread). */
  private long zeroAheadLimit;
  /**
   * Whether the file past the records may hold a purged segment's records rather than zeros (a
   * recycled file, not yet cut at its end); writer thread.
   */
  private boolean staleTail;

  // Sync slot state.
  private long slotSeq;
  private long syncedEnd = HEADER_BYTES;
  private LogId slotCommitted = LogId.ZERO;

  private Segment(final Path path, final FileChannel channel, final long firstIndex) {
    this.path = path;
    this.channel = channel;
    this.firstIndex = firstIndex;
  }

  static String fileName(final long firstIndex) {
    return String.format("log-%020d.seg", firstIndex);
  }

  /** The first index a segment file name gives, or -1 if it is not a segment's name. */
  static long parseFirstIndex(final String name) {
    if (!name.startsWith("log-") || !name.endsWith(".seg") || name.length() != 28) {
      return -1;
    }
    try {
      return Long.parseLong(name.substring(4, 24));
    } catch (final NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Creates an empty segment: the header goes to a temporary file that is forced and renamed into
   * place, so a segment file always has a whole header. The rename is durable once the caller
   * syncs the directory.
   */
  static Segment create(final Path dir, final long firstIndex) throws IOException {
    final Path path = dir.resolve(fileName(firstIndex));
    final Path tmp = dir.resolve(fileName(firstIndex) + ".tmp");
    final FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    try {
      Fs.writeFully(ch, header(firstIndex), 0);
      ch.force(true);
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (final IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    return new Segment(path, ch, firstIndex);
  }

  /**
   * Makes an empty segment out of a file the {@link Preallocator} prepared (zero-filled and
   * forced with its size): writes the header at offset 0, forces it ({@code fdatasync}: the size
   * does not change) and renames the file into place, so a segment file always has a whole
   * header. The rename is durable once the caller syncs the directory. On failure the prepared
   * file is closed and deleted.
   */
  static Segment createFromPrepared(final Path dir, final long firstIndex, final Preallocator.Prepared prepared)
      throws IOException {
    final Path path = dir.resolve(fileName(firstIndex));
    final FileChannel ch = prepared.channel();
    try {
      Fs.writeFully(ch, header(firstIndex), 0);
      ch.force(false);
      Files.move(prepared.path(), path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (final IOException | RuntimeException e) {
      Preallocator.discard(ch, prepared.path());
      throw e;
    }
    final Segment seg = new Segment(path, ch, firstIndex);
    seg.fileBytes = ch.size();
    seg.staleTail = prepared.recycled();
    return seg;
  }

  private static ByteBuffer header(final long firstIndex) {
    final ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    header.putLong(MAGIC).putInt(VERSION).putInt(HEADER_BYTES).putLong(firstIndex);
    header.putInt(24, crc(header.array(), 0, 24));
    header.clear();
    return header;
  }

  /** What {@link #open} found at the end of a segment. */
  record Recovery(long cutOffset, long cutBytes, String reason) {}

  /**
   * Opens a segment and rebuilds its index by reading every record and checking its checksum.
   * The first bad record before the synced end is corruption; at or after it, the clean end of a
   * preallocated segment if only zeros follow, else a torn tail that is cut off and reported in
   * {@code recoveries} (last segment) or corruption (sealed segment): see the class comment.
   *
   * @param prevLastId the last id of the previous segment (or ZERO): this one's entries must
   *     continue it
   * @param isLast whether this is the last segment, the only one that may have a torn tail cut off
   * @param recoveries where to record a cut tail
   * @throws IOException on corruption; the message names the file and the offset
   */
  static Segment open(
      final Path path,
      final long nameFirstIndex,
      final LogId prevLastId,
      final boolean isLast,
      final List<Recovery> recoveries)
      throws IOException {
    final FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      final long size = ch.size();
      if (size < HEADER_BYTES) {
        throw new IOException("corrupt log segment file=" + path + ": size=" + size + " is below the header size="
            + HEADER_BYTES);
      }
      final ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
      Fs.readFully(ch, header, 0, path);
      final byte[] h = header.array();
      final long magic = header.getLong(0);
      final int version = header.getInt(8);
      final long first = header.getLong(16);
      if (header.getInt(24) != crc(h, 0, 24) || magic != MAGIC) {
        throw new IOException("corrupt log segment file=" + path + " at offset=0: bad header (magic="
            + Long.toHexString(magic) + ")");
      }
      if (version != VERSION || header.getInt(12) != HEADER_BYTES) {
        throw new IOException("log segment file=" + path + " has format version=" + version
            + ", this build reads version=" + VERSION);
      }
      if (first != nameFirstIndex) {
        throw new IOException("corrupt log segment file=" + path + ": header firstIndex=" + first
            + " but the name says " + nameFirstIndex);
      }
      final Segment seg = new Segment(path, ch, first);
      seg.readSlots(h);
      if (seg.syncedEnd > size) {
        throw new IOException("corrupt log segment file=" + path + ": size=" + size
            + " is below its synced end offset=" + seg.syncedEnd);
      }
      seg.scan(size, prevLastId, isLast, recoveries);
      seg.fileBytes = ch.size();
      return seg;
    } catch (final IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private void readSlots(final byte[] h) {
    final ByteBuffer b = ByteBuffer.wrap(h);
    for (int s = 0; s < 2; s++) {
      final int at = SLOT_A + s * SLOT_BYTES;
      if (b.getInt(at + 32) != crc(h, at, 32)) {
        continue;
      }
      final long seq = b.getLong(at);
      if (seq > slotSeq) {
        slotSeq = seq;
        syncedEnd = b.getLong(at + 8);
        final long cTerm = b.getLong(at + 16);
        final long cIndex = b.getLong(at + 24);
        slotCommitted = cIndex == 0 ? LogId.ZERO : LogId.of(cTerm, cIndex);
      }
    }
  }

  private void scan(final long size, final LogId prevLastId, final boolean isLast, final List<Recovery> recoveries)
      throws IOException {
    final ScanReader in = new ScanReader(channel, path);
    long pos = HEADER_BYTES;
    long expectedIndex = firstIndex;
    long prevTerm = prevLastId.term();
    if (prevLastId.index() != 0 && firstIndex != prevLastId.index() + 1) {
      throw new IOException("corrupt log: segment file=" + path + " starts at index=" + firstIndex
          + " but the previous segment ends at index=" + prevLastId.index());
    }
    while (pos < size) {
      final String bad = in.checkRecord(pos, size, expectedIndex, prevTerm);
      if (bad != null) {
        if (pos < syncedEnd) {
          throw new IOException("corrupt log segment file=" + path + " at offset=" + pos + " (synced end offset="
              + syncedEnd + (isLast ? "" : ", a sealed segment") + "): " + bad
              + "; refusing to open rather than drop synced entries");
        }
        if (in.zeroFrom(pos, size)) {
          break; // the clean end of a preallocated segment: keep the zeros for the next records
        }
        if (!isLast) {
          throw new IOException("corrupt log segment file=" + path + " at offset=" + pos + " (synced end offset="
              + syncedEnd + ", a sealed segment): " + bad + ", and the bytes from there to the file end offset="
              + size + " are not all zero; refusing to open rather than drop synced entries");
        }
        recoveries.add(new Recovery(pos, size - pos, bad));
        channel.truncate(pos);
        channel.force(true);
        break;
      }
      addOffset(pos);
      prevTerm = in.lastTerm();
      expectedIndex++;
      pos += 8 + in.lastLength();
    }
    end = pos;
    lastTerm = prevTerm;
  }

  /** Reads records sequentially through a 1 MiB window, checking each one. */
  private static final class ScanReader {
    private static final int WINDOW = 1 << 20;
    private final FileChannel ch;
    private final Path path;
    private final ByteBuffer window = ByteBuffer.allocate(WINDOW);
    private long windowStart = -1;
    private int lastLength;
    private long lastTerm;

    ScanReader(final FileChannel ch, final Path path) {
      this.ch = ch;
      this.path = path;
    }

    int lastLength() {
      return lastLength;
    }

    long lastTerm() {
      return lastTerm;
    }

    /** Makes bytes [pos, pos + n) available in the window (n <= WINDOW); returns their offset in it. */
    private int fill(final long pos, final int n, final long size) throws IOException {
      if (windowStart < 0 || pos < windowStart || pos + n > windowStart + window.limit()) {
        window.clear();
        window.limit((int) Math.min(WINDOW, size - pos));
        Fs.readFully(ch, window, pos, path);
        windowStart = pos;
      }
      return (int) (pos - windowStart);
    }

    /** Whether every byte of {@code [pos, size)} is zero. */
    boolean zeroFrom(final long pos, final long size) throws IOException {
      final byte[] zeros = new byte[(int) Math.min(WINDOW, size - pos)];
      long p = pos;
      while (p < size) {
        final int n = (int) Math.min(zeros.length, size - p);
        final int at = fill(p, n, size);
        if (Arrays.mismatch(window.array(), at, at + n, zeros, 0, n) >= 0) {
          return false;
        }
        p += n;
      }
      return true;
    }

    /** Checks the record at {@code pos}; returns null if good, else what is wrong. */
    String checkRecord(final long pos, final long size, final long expectedIndex, final long prevTerm)
        throws IOException {
      if (size - pos < RECORD_HEADER_BYTES) {
        return "partial record header of " + (size - pos) + " bytes";
      }
      final int at = fill(pos, RECORD_HEADER_BYTES, size);
      final int length = window.getInt(at);
      final int stored = window.getInt(at + 4);
      if (length < BODY_FIXED_BYTES || length - BODY_FIXED_BYTES > MAX_PAYLOAD_BYTES) {
        return "bad record length=" + length;
      }
      if (pos + 8 + length > size) {
        return "record length=" + length + " runs past the file end offset=" + size;
      }
      final long index = window.getLong(at + 8);
      final long term = window.getLong(at + 16);
      final int kind = window.get(at + 24);
      final CRC32C crc = new CRC32C();
      crc.update(window.array(), at, 4);
      if (8 + length <= WINDOW) {
        final int body = fill(pos, 8 + length, size);
        crc.update(window.array(), body + 8, length);
      } else {
        final ByteBuffer chunk = ByteBuffer.allocate(WINDOW);
        long p = pos + 8;
        final long stop = pos + 8 + length;
        while (p < stop) {
          chunk.clear().limit((int) Math.min(WINDOW, stop - p));
          Fs.readFully(ch, chunk, p, path);
          crc.update(chunk.array(), 0, chunk.limit());
          p += chunk.limit();
        }
      }
      if ((int) crc.getValue() != stored) {
        return "checksum mismatch: stored=" + Integer.toHexString(stored) + " computed="
            + Long.toHexString(crc.getValue());
      }
      if (index != expectedIndex) {
        return "record index=" + index + " but expected index=" + expectedIndex;
      }
      if (term < prevTerm || kind < 0 || kind >= EntryKind.values().length) {
        return "record term=" + term + " (previous term=" + prevTerm + ") kind=" + kind + " is invalid";
      }
      lastLength = length;
      lastTerm = term;
      return null;
    }
  }

  private static int crc(final byte[] b, final int off, final int len) {
    final CRC32C c = new CRC32C();
    c.update(b, off, len);
    return (int) c.getValue();
  }

  // ------------------------------------------------------------------ accessors

  Path path() {
    return path;
  }

  long firstIndex() {
    return firstIndex;
  }

  /** The index of the last record, or {@code firstIndex - 1} if there is none. */
  long lastIndex() {
    return firstIndex + count - 1;
  }

  int count() {
    return count;
  }

  long end() {
    return end;
  }

  long lastTerm() {
    return lastTerm;
  }

  LogId slotCommitted() {
    return slotCommitted;
  }

  long syncedEnd() {
    return syncedEnd;
  }

  /** Where the record of {@code index} starts. */
  long offset(final long index) {
    return offsets[(int) (index - firstIndex)];
  }

  /** Where the record of {@code index} ends. */
  long recordEnd(final long index) {
    final int i = (int) (index - firstIndex);
    return i + 1 < count ? offsets[i + 1] : end;
  }

  /** The payload size of the record of {@code index}. */
  long payloadBytes(final long index) {
    return recordEnd(index) - offset(index) - RECORD_HEADER_BYTES;
  }

  // ------------------------------------------------------------------ writes (writer thread)

  // Records written but not yet indexed (writer thread only).
  private long pendingBytes;
  private int[] pendingOffsets = new int[64];
  private int pendingCount;
  private long pendingLastTerm;

  /**
   * Lets {@link #writeAtEnd} zero the file ahead of its records, up to {@code limit} bytes (the
   * segment size); 0 turns it off.
   */
  void zeroAhead(final long limit) {
    zeroAheadLimit = limit;
  }

  /**
   * Writes encoded records at the end of the file; they are not indexed until {@link #publish}.
   * When they go past the file's size and zeroing ahead is on, also writes zeros after them, to
   * the next {@value #ZERO_AHEAD_BYTES}-byte step (at most the limit), in the same unsynced batch:
   * the next {@code fdatasync} then commits the file's new size once for that whole step, and the
   * syncs of the records written over those zeros after it only flush data (see {@link
   * SegmentedLog}, "Preallocation").
   */
  void writeAtEnd(final ByteBuffer records) throws IOException {
    final int n = records.remaining();
    Fs.writeFully(channel, records, end + pendingBytes);
    pendingBytes += n;
    final long written = end + pendingBytes;
    if (written > fileBytes) {
      fileBytes = written;
      if (zeroAheadLimit > written) {
        final long target = Math.min(zeroAheadLimit, (written / ZERO_AHEAD_BYTES + 1) * ZERO_AHEAD_BYTES);
        final ByteBuffer zeros = ZEROS.duplicate();
        zeros.limit((int) (target - written));
        Fs.writeFully(channel, zeros, written);
        fileBytes = target;
      }
    }
  }

  /** How far ahead of the records {@link #writeAtEnd} zeroes the file, in steps of this many bytes. */
  static final int ZERO_AHEAD_BYTES = 1 << 20;

  /** Zeros for {@link #writeAtEnd}; only ever read, through duplicates. */
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_AHEAD_BYTES).asReadOnlyBuffer();

  /** The file's size as this writer made it (records, then only zeros to it); for tests. */
  long fileBytes() {
    return fileBytes;
  }

  /** Notes a record that starts at {@code fileOffset}, written (or to be written) by {@link #writeAtEnd}. */
  void notePending(final long fileOffset, final long term) {
    if (pendingCount == pendingOffsets.length) {
      pendingOffsets = Arrays.copyOf(pendingOffsets, pendingCount * 2);
    }
    pendingOffsets[pendingCount++] = (int) fileOffset;
    pendingLastTerm = term;
  }

  /** Whether records were noted since the last {@link #publish}, or the segment holds records. */
  boolean hasRecords() {
    return count + pendingCount > 0;
  }

  /** The file size once the pending records are published. */
  long endWithPending() {
    return end + pendingBytes;
  }

  /** Makes the pending records part of the index; call under the log's write lock. */
  void publish() {
    for (int i = 0; i < pendingCount; i++) {
      addOffset(pendingOffsets[i]);
    }
    if (pendingCount > 0) {
      lastTerm = pendingLastTerm;
    }
    end += pendingBytes;
    pendingBytes = 0;
    pendingCount = 0;
  }

  private void addOffset(final long offset) {
    if (count == offsets.length) {
      offsets = Arrays.copyOf(offsets, count * 2);
    }
    offsets[count++] = (int) offset;
  }

  /** Forces the file's data (and the size, if it changed) to disk. */
  void force() throws IOException {
    channel.force(false);
  }

  /**
   * Writes the next sync slot: everything before {@code durableEnd} was forced; {@code committed}
   * is the hint. Not forced here: the next force of this file makes it durable.
   */
  void writeSlot(final long durableEnd, final LogId committed) throws IOException {
    final long seq = slotSeq + 1;
    final ByteBuffer slot = ByteBuffer.allocate(SLOT_BYTES);
    slot.putLong(seq).putLong(durableEnd).putLong(committed.term()).putLong(committed.index());
    slot.putInt(32, crc(slot.array(), 0, 32));
    slot.clear();
    Fs.writeFully(channel, slot, SLOT_A + (seq % 2) * SLOT_BYTES);
    slotSeq = seq;
    syncedEnd = durableEnd;
    slotCommitted = committed;
  }

  /**
   * Removes the records from {@code index} on, from the index (call under the log's write lock);
   * {@link #cutFile} then shortens the file.
   */
  void dropIndexFrom(final long index) {
    final int keep = (int) (index - firstIndex);
    end = offsets[keep];
    count = keep;
  }

  /** Sets the term of the last record (after {@link #dropIndexFrom}). */
  void setLastTerm(final long term) {
    lastTerm = term;
  }

  /**
   * Shortens the file to {@link #end()}. First lowers the synced end (durably), so that new
   * records written over the cut region are never mistaken for synced ones after a crash. The
   * file is truncated even if it was preallocated: zeroing the cut records instead would cost as
   * much, and leaving them behind zeros is what recovery must never accept (see the class).
   */
  void cutFile(final LogId committed) throws IOException {
    if (syncedEnd > end) {
      writeSlot(end, committed);
      channel.force(false);
    }
    channel.truncate(end);
    fileBytes = end;
    staleTail = false;
  }

  /**
   * If the file past the records may hold a recycled segment's stale records, cuts it at the end
   * of the records written (pending ones included) and forces it with the new size; returns
   * whether it did. Before a segment is sealed, and when the log closes.
   */
  boolean dropStaleTail() throws IOException {
    if (!staleTail) {
      return false;
    }
    final long at = end + pendingBytes;
    channel.truncate(at);
    channel.force(true);
    fileBytes = at;
    staleTail = false;
    return true;
  }

  /** Reads the term of the record of {@code index}. */
  long readTerm(final long index) throws IOException {
    final ByteBuffer b = ByteBuffer.allocate(RECORD_HEADER_BYTES);
    Fs.readFully(channel, b, offset(index), path);
    return b.getLong(16);
  }

  // ------------------------------------------------------------------ reads (any thread)

  /**
   * Reads and checks the records {@code [from, to)}, all indexed, into {@code out}.
   *
   * @throws IOException if a record is damaged; never returns damaged data
   */
  void read(final long from, final long to, final List<Entry> out) throws IOException {
    final int chunkBytes = 1 << 20;
    long i = from;
    while (i < to) {
      final long start = offset(i);
      long j = i + 1;
      while (j < to && recordEnd(j) - start <= chunkBytes) {
        j++;
      }
      final long stop = recordEnd(j - 1);
      final ByteBuffer buf = ByteBuffer.allocate((int) (stop - start));
      Fs.readFully(channel, buf, start, path);
      int at = 0;
      for (long k = i; k < j; k++) {
        out.add(decode(buf, at, k, start + at));
        at += (int) (recordEnd(k) - offset(k));
      }
      i = j;
    }
  }

  private Entry decode(final ByteBuffer buf, final int at, final long expectedIndex, final long fileOffset)
      throws IOException {
    final int length = buf.getInt(at);
    final int stored = buf.getInt(at + 4);
    final CRC32C crc = new CRC32C();
    crc.update(buf.array(), at, 4);
    if (length < BODY_FIXED_BYTES || at + 8 + length > buf.limit()) {
      throw new IOException("corrupt log segment file=" + path + " at offset=" + fileOffset + ": record length="
          + length + " does not match the index");
    }
    crc.update(buf.array(), at + 8, length);
    final long index = buf.getLong(at + 8);
    if ((int) crc.getValue() != stored || index != expectedIndex) {
      throw new IOException("corrupt log segment file=" + path + " at offset=" + fileOffset
          + ": checksum or index mismatch reading index=" + expectedIndex + " (found index=" + index + ")");
    }
    final long term = buf.getLong(at + 16);
    final EntryKind kind = EntryKind.fromCode(buf.get(at + 24));
    final byte[] payload = Arrays.copyOfRange(buf.array(), at + RECORD_HEADER_BYTES, at + 8 + length);
    return new Entry(LogId.of(term, index), kind, payload);
  }

  /** Closes the file. */
  void close() throws IOException {
    channel.close();
  }

  /** Closes and deletes the file. */
  void delete() throws IOException {
    channel.close();
    Files.deleteIfExists(path);
  }

  @Override
  public String toString() {
    return "Segment{file=" + path.getFileName() + ", first=" + firstIndex + ", count=" + count + ", end=" + end + "}";
  }
}
