package io.raftkit.storage.file.internal;

import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.storage.support.Fs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The {@code state} file: the vote, the purged log id and the committed hint, replaced
 * atomically ({@link Fs#atomicWrite}) whenever the vote or the purged id changes.
 *
 * <pre>
 *   offset size field
 *   0      8    magic "RKSTATE\0"
 *   8      4    format version (1)
 *   12     8    vote term
 *   20     8    voted for (0 = nobody)
 *   28     1    vote committed (0 or 1)
 *   29     8    purged term
 *   37     8    purged index
 *   45     8    committed term
 *   53     8    committed index
 *   61     4    CRC32C of bytes [0, 61)
 *   65          end
 * </pre>
 *
 * <p>Since the file is renamed into place only after it was forced, a checksum mismatch is
 * corruption, never a torn write: opening fails.
 *
 * @param vote the vote
 * @param purged the last purged log id
 * @param committed the committed hint
 */
record StateFile(Vote vote, LogId purged, LogId committed) {

  static final String NAME = "state";
  static final StateFile EMPTY = new StateFile(Vote.NONE, LogId.ZERO, LogId.ZERO);

  private static final long MAGIC = 0x524B_5354_4154_4500L;
  private static final int VERSION = 1;
  private static final int SIZE = 65;

  StateFile withVote(final Vote v) {
    return new StateFile(v, purged, committed);
  }

  StateFile withPurged(final LogId p) {
    return new StateFile(vote, p, committed);
  }

  StateFile withCommitted(final LogId c) {
    return new StateFile(vote, purged, c);
  }

  /** Writes this state over {@code dir/state}, atomically and durably. */
  void write(final Path dir) throws IOException {
    final ByteBuffer buf = ByteBuffer.allocate(SIZE);
    buf.putLong(MAGIC).putInt(VERSION);
    buf.putLong(vote.term()).putLong(vote.votedFor()).put((byte) (vote.committed() ? 1 : 0));
    buf.putLong(purged.term()).putLong(purged.index());
    buf.putLong(committed.term()).putLong(committed.index());
    final CRC32C crc = new CRC32C();
    crc.update(buf.array(), 0, SIZE - 4);
    buf.putInt((int) crc.getValue());
    buf.flip();
    Fs.atomicWrite(dir.resolve(NAME), buf);
  }

  /**
   * Reads {@code dir/state}, or {@link #EMPTY} if there is none; removes a leftover temporary
   * file.
   *
   * @throws IOException if the file is corrupt; the message names it and what is wrong
   */
  static StateFile read(final Path dir) throws IOException {
    final Path file = dir.resolve(NAME);
    Files.deleteIfExists(dir.resolve(NAME + ".tmp"));
    final byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (final NoSuchFileException e) {
      return EMPTY;
    }
    if (bytes.length != SIZE) {
      throw new IOException("corrupt state file=" + file + ": size=" + bytes.length + " but expected=" + SIZE);
    }
    final ByteBuffer buf = ByteBuffer.wrap(bytes);
    final CRC32C crc = new CRC32C();
    crc.update(bytes, 0, SIZE - 4);
    final int stored = buf.getInt(SIZE - 4);
    if (stored != (int) crc.getValue()) {
      throw new IOException(
          "corrupt state file=" + file + ": checksum=" + Integer.toHexString(stored) + " but computed="
              + Long.toHexString(crc.getValue()));
    }
    final long magic = buf.getLong();
    final int version = buf.getInt();
    if (magic != MAGIC || version != VERSION) {
      throw new IOException(
          "state file=" + file + " has magic=" + Long.toHexString(magic) + " version=" + version
              + ", expected magic=" + Long.toHexString(MAGIC) + " version=" + VERSION);
    }
    try {
      final Vote vote = new Vote(buf.getLong(), buf.getLong(), buf.get() == 1);
      final LogId purged = LogId.of(buf.getLong(), buf.getLong());
      final LogId committed = LogId.of(buf.getLong(), buf.getLong());
      return new StateFile(vote, purged, committed);
    } catch (final IllegalArgumentException e) {
      throw new IOException("corrupt state file=" + file + ": " + e.getMessage(), e);
    }
  }
}
