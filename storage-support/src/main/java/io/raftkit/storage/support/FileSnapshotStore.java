package io.raftkit.storage.support;

import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotReader;
import io.raftkit.api.spi.SnapshotStore;
import io.raftkit.api.spi.SnapshotWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Snapshots as files in one directory ({@link SnapshotFiles} has the layout). A writer writes
 * {@code snapshot-<seq>.tmp}; finish forces it, renames it to {@code snapshot-<seq>.snap}, syncs
 * the directory and deletes older snapshots. The latest snapshot is the one with the highest
 * sequence. Temporary files left by a crash are deleted on open.
 *
 * <p>Thread-safe: {@link #begin} and {@link #openLatest} may be called from any thread; an open
 * reader keeps working after its file is replaced (Linux keeps an unlinked open file readable).
 */
public final class FileSnapshotStore implements SnapshotStore {

  private static final String PREFIX = "snapshot-";
  private static final String DONE = ".snap";
  private static final String TEMP = ".tmp";

  private final Path dir;
  private final Runnable ensureOpen;
  private final AtomicLong nextSeq = new AtomicLong();
  private final Object publishLock = new Object();

  private FileSnapshotStore(final Path dir, final Runnable ensureOpen) {
    this.dir = dir;
    this.ensureOpen = ensureOpen;
  }

  /**
   * Opens the snapshot directory, creating it if needed and removing unfinished snapshots.
   *
   * @param ensureOpen throws {@link IllegalStateException} once the storage is closed
   */
  public static FileSnapshotStore open(final Path dir, final Runnable ensureOpen) throws IOException {
    Files.createDirectories(dir);
    final FileSnapshotStore store = new FileSnapshotStore(dir, ensureOpen);
    long max = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (final Path p : ds) {
        final String name = p.getFileName().toString();
        final long seq = parseSeq(name);
        if (seq < 0) {
          throw new IOException("unexpected file=" + p + " in snapshot directory=" + dir);
        }
        if (name.endsWith(TEMP)) {
          Files.delete(p);
        }
        max = Math.max(max, seq);
      }
    }
    store.nextSeq.set(max + 1);
    return store;
  }

  private static long parseSeq(final String name) {
    final boolean done = name.endsWith(DONE);
    if (!name.startsWith(PREFIX) || !(done || name.endsWith(TEMP))) {
      return -1;
    }
    try {
      return Long.parseLong(name.substring(PREFIX.length(), name.length() - (done ? DONE.length() : TEMP.length())));
    } catch (final NumberFormatException e) {
      return -1;
    }
  }

  private TreeMap<Long, Path> finished() throws IOException {
    final TreeMap<Long, Path> out = new TreeMap<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*" + DONE)) {
      for (final Path p : ds) {
        out.put(parseSeq(p.getFileName().toString()), p);
      }
    }
    return out;
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotWriter begin(final SnapshotMeta meta) throws IOException {
    Objects.requireNonNull(meta, "meta");
    ensureOpen.run();
    final long seq = nextSeq.getAndIncrement();
    final String base = String.format("%s%020d", PREFIX, seq);
    return new FileSnapshotWriter(meta, dir.resolve(base + TEMP), dir.resolve(base + DONE), this);
  }

  /** Called by a writer's finish once its file is renamed: syncs the directory, deletes older ones. */
  void published(final Path file) throws IOException {
    synchronized (publishLock) {
      ensureOpen.run();
      Fs.syncDirectory(dir);
      final long seq = parseSeq(file.getFileName().toString());
      for (final var e : finished().headMap(seq, false).entrySet()) {
        Files.deleteIfExists(e.getValue());
      }
    }
  }

  void checkOpen() {
    ensureOpen.run();
  }

  /** {@inheritDoc} */
  @Override
  public Optional<SnapshotReader> openLatest() throws IOException {
    ensureOpen.run();
    synchronized (publishLock) {
      final var latest = finished().lastEntry();
      if (latest == null) {
        return Optional.empty();
      }
      final FileChannel ch = FileChannel.open(latest.getValue(), StandardOpenOption.READ);
      try {
        final SnapshotFiles.Checked c = SnapshotFiles.check(ch, latest.getValue());
        return Optional.of(new FileSnapshotReader(c.meta(), ch, latest.getValue(), c.dataOffset(), c.dataSize()));
      } catch (final IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }
  }

  @Override
  public String toString() {
    return "FileSnapshotStore{dir=" + dir + "}";
  }
}
