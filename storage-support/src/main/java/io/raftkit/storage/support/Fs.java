package io.raftkit.storage.support;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** File-system helpers: positional full reads and writes, directory fsync, atomic replace. */
public final class Fs {

  private Fs() {}

  /** Writes all remaining bytes of {@code buf} at {@code position}. */
  public static void writeFully(final FileChannel ch, final ByteBuffer buf, final long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      pos += ch.write(buf, pos);
    }
  }

  /**
   * Fills the remaining space of {@code buf} from {@code position}.
   *
   * @throws EOFException if the file ends first; the message names the file and the offsets
   */
  public static void readFully(final FileChannel ch, final ByteBuffer buf, final long position, final Path file)
      throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      final int n = ch.read(buf, pos);
      if (n < 0) {
        throw new EOFException(
            "unexpected end of file=" + file + " at offset=" + pos + " reading from offset=" + position);
      }
      pos += n;
    }
  }

  /**
   * Makes the entries of a directory (created, renamed and deleted files) durable. Linux allows a
   * directory to be opened for reading and {@code fsync}ed, which is what {@code force} does.
   */
  public static void syncDirectory(final Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /**
   * Replaces {@code target} with {@code bytes} atomically and durably: writes {@code
   * target.tmp}, forces it, renames it over {@code target} and forces the directory. A crash at
   * any point leaves either the old or the new content, never a mix.
   */
  public static void atomicWrite(final Path target, final ByteBuffer bytes) throws IOException {
    final Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      writeFully(ch, bytes, 0);
      ch.force(true);
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.getParent());
  }
}
