package io.raftkit.storage.file.internal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** What the recovery tests do to a store's files: crash images and single-byte damage. */
final class FileBytes {

  private FileBytes() {}

  /** Copies the store's files as they are now: what a kill -9 at this moment leaves. */
  static Path copyAsCrashed(final Path from, final Path to) throws IOException {
    for (final String sub : List.of("", "log", "snapshots")) {
      Files.createDirectories(to.resolve(sub));
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(from.resolve(sub))) {
        for (final Path p : ds) {
          if (Files.isRegularFile(p) && !p.getFileName().toString().equals("LOCK")) {
            Files.copy(p, to.resolve(sub).resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    }
    return to;
  }

  /** Flips bit {@code bit} of the byte at {@code offset}. */
  static void flipBit(final Path file, final long offset, final int bit) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      final int b = f.read();
      f.seek(offset);
      f.write(b ^ (1 << bit));
    }
  }

  /** Writes {@code value} at {@code offset}. */
  static void writeByte(final Path file, final long offset, final int value) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      f.write(value);
    }
  }

  /** Zeroes {@code [from, to)}. */
  static void zero(final Path file, final long from, final long to) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(from);
      f.write(new byte[(int) (to - from)]);
    }
  }

  /** Appends {@code bytes} at the end of the file. */
  static void appendBytes(final Path file, final byte[] bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(f.length());
      f.write(bytes);
    }
  }
}
