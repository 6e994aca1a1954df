package io.raftkit.storage.file.internal;

import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.SnapshotStore;
import io.raftkit.storage.support.FileSnapshotStore;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The durable state of one node in a directory: {@code LOCK}, {@code state} ({@link StateFile}),
 * {@code log/} ({@link SegmentedLog}) and {@code snapshots/} ({@link FileSnapshotStore}).
 *
 * <p>The vote is durable when {@link #saveVote} returns (the state file is replaced atomically).
 * The committed hint goes into the sync slot of the active segment at the next sync, and is
 * clamped to the last log id on open. A clean {@link #close()} syncs the log first.
 *
 * <p>Thread-safe as {@link RaftStorage} asks: the log has its own lock; the state file is
 * guarded by this object's monitor.
 */
final class FileRaftStorage implements RaftStorage {

  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final SegmentedLog log;
  private final FileSnapshotStore snapshots;
  private final List<String> recoveryWarnings;
  private StateFile state; // guarded by this

  private FileRaftStorage(
      final Path dir,
      final FileChannel lockChannel,
      final FileLock lock,
      final StateFile state,
      final SegmentedLog log,
      final FileSnapshotStore snapshots,
      final List<String> recoveryWarnings) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.state = state;
    this.log = log;
    this.snapshots = snapshots;
    this.recoveryWarnings = List.copyOf(recoveryWarnings);
  }

  /**
   * Opens (creating if needed) the store in {@code dir}, with segment preallocation on.
   *
   * @throws IOException if it is open already (in this or another process), or is corrupt
   */
  static FileRaftStorage open(final Path dir, final int segmentBytes) throws IOException {
    return open(dir, segmentBytes, true);
  }

  /**
   * Opens (creating if needed) the store in {@code dir}.
   *
   * @param preallocate whether log segment files are prepared ahead of time
   * @throws IOException if it is open already (in this or another process), or is corrupt
   */
  static FileRaftStorage open(final Path dir, final int segmentBytes, final boolean preallocate)
      throws IOException {
    Files.createDirectories(dir);
    final Path lockFile = dir.resolve("LOCK");
    final FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    SegmentedLog log = null;
    try {
      final FileLock lock;
      try {
        lock = lockChannel.tryLock();
      } catch (final OverlappingFileLockException e) {
        throw new IOException("file storage dir=" + dir + " is already open in this JVM (lock file=" + lockFile + ")");
      }
      if (lock == null) {
        throw new IOException("file storage dir=" + dir + " is locked by another process (lock file=" + lockFile + ")");
      }
      final StateFile state = StateFile.read(dir);
      final List<String> warnings = new ArrayList<>();
      final StorageRef ref = new StorageRef();
      log = SegmentedLog.open(
          dir.resolve("log"), segmentBytes, preallocate, state.purged(), p -> ref.get().recordPurged(p), warnings);
      final SegmentedLog openLog = log;
      final FileSnapshotStore snapshots = FileSnapshotStore.open(dir.resolve("snapshots"), openLog::checkOpen);
      LogId committed = state.committed().index() > log.committed().index() ? state.committed() : log.committed();
      final LogId last = log.lastLogId();
      if (committed.index() > last.index()) {
        committed = last;
      }
      log.setCommitted(committed);
      final FileRaftStorage storage = new FileRaftStorage(dir, lockChannel, lock, state, log, snapshots, warnings);
      ref.set(storage);
      return storage;
    } catch (final IOException | RuntimeException e) {
      if (log != null) {
        try {
          log.close();
        } catch (final IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      lockChannel.close();
      throw e;
    }
  }

  /** Lets the log call back into the storage it belongs to, which is built after it. */
  private static final class StorageRef {
    private FileRaftStorage storage;

    synchronized FileRaftStorage get() {
      return storage;
    }

    synchronized void set(final FileRaftStorage s) {
      storage = s;
    }
  }

  /** The warnings recovery logged on open (torn tails cut off), for tests. */
  List<String> recoveryWarnings() {
    return recoveryWarnings;
  }

  /** The log, as its implementation, for tests. */
  SegmentedLog segmentedLog() {
    return log;
  }

  private synchronized void recordPurged(final LogId purged) throws IOException {
    final StateFile next = state.withPurged(purged).withCommitted(log.committed());
    next.write(dir);
    state = next;
  }

  /** {@inheritDoc} */
  @Override
  public LogStore log() {
    return log;
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotStore snapshots() {
    return snapshots;
  }

  /** {@inheritDoc} */
  @Override
  public synchronized Vote readVote() {
    log.checkOpen();
    return state.vote();
  }

  /** {@inheritDoc} Replaces the state file atomically: durable when this returns. */
  @Override
  public synchronized void saveVote(final Vote vote) throws IOException {
    Objects.requireNonNull(vote, "vote");
    log.checkOpen();
    if (vote.term() < state.vote().term()) {
      throw new IllegalArgumentException(
          "saveVote vote=" + vote + " has term=" + vote.term() + " below the saved vote=" + state.vote()
              + " in file storage dir=" + dir);
    }
    final StateFile next = state.withVote(vote).withCommitted(log.committed());
    next.write(dir);
    state = next;
  }

  /**
   * {@inheritDoc} Kept in memory and written with the next log sync.
   *
   * @throws IllegalArgumentException if {@code committed} is beyond the last log id
   */
  @Override
  public void saveCommitted(final LogId committed) {
    Objects.requireNonNull(committed, "committed");
    final LogId last = log.lastLogId();
    if (committed.index() > last.index()) {
      throw new IllegalArgumentException(
          "saveCommitted committed=" + committed + " is ahead of lastLogId=" + last + " in file storage dir=" + dir);
    }
    log.setCommitted(committed);
  }

  /** {@inheritDoc} */
  @Override
  public LogId readCommitted() {
    log.checkOpen();
    return log.committed();
  }

  /** {@inheritDoc} Syncs the log, closes every file and releases the lock. Idempotent. */
  @Override
  public void close() throws IOException {
    try {
      log.close();
    } finally {
      try {
        if (lock.isValid()) {
          lock.release();
        }
      } finally {
        lockChannel.close();
      }
    }
  }

  @Override
  public String toString() {
    return "FileRaftStorage{dir=" + dir + ", log=" + log + "}";
  }
}
