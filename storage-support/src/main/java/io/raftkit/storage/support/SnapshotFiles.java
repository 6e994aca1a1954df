package io.raftkit.storage.support;

import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The layout of a snapshot file.
 *
 * <pre>
 * "snapshot-&lt;sequence, 20 digits&gt;.snap" (while written: ".tmp"), big-endian:
 *
 *   offset   size
 *   0        8    magic "RKSNAP\0\1"
 *   8        4    format version (1)
 *   12       4    meta size M
 *   16       8    data size D
 *   24       4    CRC32C of the data
 *   28       4    CRC32C of bytes [0, 28) and of the meta
 *   32       M    meta: last log id (term, index: 2 longs), membership log id (2 longs),
 *                 membership size (int, -1 = none) + Membership.encode() bytes,
 *                 snapshot id size (int) + UTF-8 bytes
 *   32 + M   D    data
 * </pre>
 *
 * <p>The header is written last (at {@code finish}), so a file whose header does not check out
 * was never finished; but since a file gets its final name only after it was forced, a finished
 * file that does not check out is corruption.
 */
final class SnapshotFiles {

  static final long MAGIC = 0x524B_534E_4150_0001L;
  static final int VERSION = 1;
  static final int HEADER_BYTES = 32;

  private SnapshotFiles() {}

  static byte[] encodeMeta(final SnapshotMeta meta) {
    final byte[] membership = meta.membership().isEmpty() ? null : meta.membership().membership().encode();
    final byte[] id = meta.snapshotId().getBytes(StandardCharsets.UTF_8);
    final ByteBuffer b = ByteBuffer.allocate(32 + 4 + (membership == null ? 0 : membership.length) + 4 + id.length);
    b.putLong(meta.lastLogId().term()).putLong(meta.lastLogId().index());
    b.putLong(meta.membership().logId().term()).putLong(meta.membership().logId().index());
    if (membership == null) {
      b.putInt(-1);
    } else {
      b.putInt(membership.length).put(membership);
    }
    b.putInt(id.length).put(id);
    return b.array();
  }

  static SnapshotMeta decodeMeta(final byte[] bytes, final Path file) throws IOException {
    try {
      final ByteBuffer b = ByteBuffer.wrap(bytes);
      final LogId last = LogId.of(b.getLong(), b.getLong());
      final LogId membershipId = LogId.of(b.getLong(), b.getLong());
      final int mLen = b.getInt();
      final StoredMembership membership;
      if (mLen < 0) {
        membership = new StoredMembership(membershipId, null);
      } else {
        final byte[] m = new byte[mLen];
        b.get(m);
        membership = new StoredMembership(membershipId, Membership.decode(m));
      }
      final byte[] id = new byte[b.getInt()];
      b.get(id);
      return new SnapshotMeta(last, membership, new String(id, StandardCharsets.UTF_8));
    } catch (final BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException e) {
      throw new IOException("corrupt snapshot file=" + file + ": bad meta: " + e, e);
    }
  }

  static ByteBuffer header(final byte[] meta, final long dataSize, final int dataCrc) {
    final ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES + meta.length);
    h.putLong(MAGIC).putInt(VERSION).putInt(meta.length).putLong(dataSize).putInt(dataCrc);
    final CRC32C crc = new CRC32C();
    crc.update(h.array(), 0, 28);
    crc.update(meta);
    h.putInt((int) crc.getValue()).put(meta);
    return h.flip();
  }

  /** A checked snapshot file: its meta and where its data lies. */
  record Checked(SnapshotMeta meta, long dataOffset, long dataSize) {}

  /**
   * Reads and checks a finished snapshot file: header, meta and data checksums.
   *
   * @throws IOException if anything does not check out; the message names the file
   */
  static Checked check(final FileChannel ch, final Path file) throws IOException {
    final long size = ch.size();
    if (size < HEADER_BYTES) {
      throw new IOException("corrupt snapshot file=" + file + ": size=" + size + " is below the header size");
    }
    final ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
    Fs.readFully(ch, h, 0, file);
    final long magic = h.getLong(0);
    final int version = h.getInt(8);
    final int metaSize = h.getInt(12);
    final long dataSize = h.getLong(16);
    final int dataCrc = h.getInt(24);
    if (magic != MAGIC || version != VERSION) {
      throw new IOException("snapshot file=" + file + " has magic=" + Long.toHexString(magic) + " version=" + version
          + ", expected version=" + VERSION);
    }
    if (metaSize < 0 || HEADER_BYTES + (long) metaSize + dataSize != size) {
      throw new IOException("corrupt snapshot file=" + file + ": metaSize=" + metaSize + " dataSize=" + dataSize
          + " do not add up to size=" + size);
    }
    final ByteBuffer meta = ByteBuffer.allocate(metaSize);
    Fs.readFully(ch, meta, HEADER_BYTES, file);
    final CRC32C crc = new CRC32C();
    crc.update(h.array(), 0, 28);
    crc.update(meta.array());
    if ((int) crc.getValue() != h.getInt(28)) {
      throw new IOException("corrupt snapshot file=" + file + " at offset=0: header checksum mismatch");
    }
    final long dataOffset = HEADER_BYTES + (long) metaSize;
    final CRC32C data = new CRC32C();
    final ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(1, dataSize)));
    for (long p = 0; p < dataSize; ) {
      chunk.clear().limit((int) Math.min(chunk.capacity(), dataSize - p));
      Fs.readFully(ch, chunk, dataOffset + p, file);
      data.update(chunk.array(), 0, chunk.limit());
      p += chunk.limit();
    }
    if ((int) data.getValue() != dataCrc) {
      throw new IOException("corrupt snapshot file=" + file + ": data checksum mismatch (stored="
          + Integer.toHexString(dataCrc) + " computed=" + Long.toHexString(data.getValue()) + ")");
    }
    return new Checked(decodeMeta(meta.array(), file), dataOffset, dataSize);
  }
}
