package io.raftkit.storage.rocksdb.internal;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.SnapshotStore;
import io.raftkit.storage.support.FileSnapshotStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WALRecoveryMode;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * A node's durable state in RocksDB: column family {@code log} maps the 8-byte big-endian index
 * (so that the byte order of keys is the numeric order) to {@code term (8 bytes) | kind (1 byte) |
 * payload}; column family {@code meta} holds {@code vote}, {@code purged} and {@code committed}.
 * Snapshots are files beside the database ({@link FileSnapshotStore}).
 *
 * <p><b>Durability.</b> Every write goes to the write-ahead log (WAL) unsynced, as one atomic
 * {@link WriteBatch}; {@link LogStore#sync()} is one {@code SyncWAL} (group commit: one fsync
 * for every batch since the last). {@link #saveVote} writes with {@code sync=true}. A purge
 * writes a range delete and the new purged id in one batch, so the two never disagree after a
 * crash; a truncation is a range delete, durable with the next sync like the appends.
 *
 * <p><b>Threading.</b> A read-write lock guards the cached ids ({@code last}, {@code purged}) so
 * that they always match the database: writes hold it exclusively while they write their batch
 * (a memtable insert and a buffered WAL append, microseconds), reads share it. {@code sync}
 * holds only the shared lock, so reads continue while the WAL is fsynced.
 *
 * <p><b>Native handles.</b> Every RocksDB object this class creates (options, column family
 * handles, the database, write and read options) is closed by {@link #close()}, in reverse order
 * of creation; iterators and batches are closed by try-with-resources where they are used.
 */
final class RocksRaftStorage implements RaftStorage, LogStore {

  static {
    RocksDB.loadLibrary();
  }

  private static final byte[] LOG_CF = "log".getBytes(StandardCharsets.UTF_8);
  private static final byte[] META_CF = "meta".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VOTE_KEY = "vote".getBytes(StandardCharsets.UTF_8);
  private static final byte[] PURGED_KEY = "purged".getBytes(StandardCharsets.UTF_8);
  private static final byte[] COMMITTED_KEY = "committed".getBytes(StandardCharsets.UTF_8);
  private static final int VALUE_HEADER_BYTES = 9;

  private final Path dir;
  private final List<AutoCloseable> handles; // in order of creation
  private final RocksDB db;
  private final ColumnFamilyHandle logCf;
  private final ColumnFamilyHandle metaCf;
  private final WriteOptions unsynced;
  private final WriteOptions synced;
  private final ReadOptions readOptions;
  private final FileSnapshotStore snapshots;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  // Guarded by lock.
  private LogId purged;
  private LogId last;
  private LogId committed;
  private Vote vote;
  private boolean closed;

  private RocksRaftStorage(
      final Path dir,
      final List<AutoCloseable> handles,
      final RocksDB db,
      final ColumnFamilyHandle logCf,
      final ColumnFamilyHandle metaCf,
      final WriteOptions unsynced,
      final WriteOptions synced,
      final ReadOptions readOptions,
      final FileSnapshotStore snapshots) {
    this.dir = dir;
    this.handles = handles;
    this.db = db;
    this.logCf = logCf;
    this.metaCf = metaCf;
    this.unsynced = unsynced;
    this.synced = synced;
    this.readOptions = readOptions;
    this.snapshots = snapshots;
  }

  /**
   * Opens (creating if needed) the store in {@code dataDir}.
   *
   * @throws IOException if the database cannot be opened (open already, corrupt); the message
   *     names the directory
   */
  static RocksRaftStorage open(final Path dataDir) throws IOException {
    final Path dbDir = dataDir.resolve("rocksdb");
    Files.createDirectories(dbDir);
    final List<AutoCloseable> handles = new ArrayList<>();
    try {
      // Options for a write-heavy, append-only log read mostly near its end:
      // - WAL recovery PointInTimeRecovery: after a crash, replay the WAL up to the first damaged
      //   record (a torn, unsynced tail) and stop, so the database is a consistent prefix.
      // - one background job pair (flush + compaction) on a 2-core budget; keys only grow, so
      //   level compaction with dynamic level sizes keeps write amplification low.
      // - 64 MiB memtables, up to 3: appends rarely stall on flushes; max WAL size 256 MiB
      //   bounds recovery time.
      // - LZ4 for the log's data blocks: cheap, and log payloads often compress.
      // - info log at WARN, at most 2 files: a log store must not fill the disk with chatter.
      final DBOptions dbOptions = track(handles, new DBOptions());
      dbOptions
          .setCreateIfMissing(true)
          .setCreateMissingColumnFamilies(true)
          .setWalRecoveryMode(WALRecoveryMode.PointInTimeRecovery)
          .setMaxBackgroundJobs(2)
          .setMaxTotalWalSize(256L * 1024 * 1024)
          .setInfoLogLevel(InfoLogLevel.WARN_LEVEL)
          .setKeepLogFileNum(2)
          .setStatsDumpPeriodSec(0);
      final ColumnFamilyOptions logOptions = track(handles, new ColumnFamilyOptions());
      logOptions
          .setWriteBufferSize(64L * 1024 * 1024)
          .setMaxWriteBufferNumber(3)
          .setLevelCompactionDynamicLevelBytes(true)
          .setCompressionType(CompressionType.LZ4_COMPRESSION);
      final ColumnFamilyOptions metaOptions = track(handles, new ColumnFamilyOptions());
      final List<ColumnFamilyDescriptor> descriptors =
          List.of(
              new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, metaOptions),
              new ColumnFamilyDescriptor(LOG_CF, logOptions),
              new ColumnFamilyDescriptor(META_CF, metaOptions));
      final List<ColumnFamilyHandle> cfs = new ArrayList<>();
      final RocksDB db;
      try {
        db = RocksDB.open(dbOptions, dbDir.toString(), descriptors, cfs);
      } catch (final RocksDBException e) {
        throw new IOException("cannot open rocksdb storage dir=" + dbDir + ": " + e.getMessage(), e);
      }
      // Closed before the database: column family handles, then the database.
      final List<AutoCloseable> dbHandles = new ArrayList<>();
      dbHandles.add(db);
      dbHandles.addAll(cfs);
      handles.addAll(dbHandles);
      final WriteOptions unsynced = track(handles, new WriteOptions().setSync(false));
      final WriteOptions synced = track(handles, new WriteOptions().setSync(true));
      final ReadOptions readOptions = track(handles, new ReadOptions());
      final FileSnapshotStore[] snapshots = new FileSnapshotStore[1];
      final RocksRaftStorage[] self = new RocksRaftStorage[1];
      snapshots[0] = FileSnapshotStore.open(dataDir.resolve("snapshots"), () -> self[0].checkOpen());
      final RocksRaftStorage s =
          new RocksRaftStorage(
              dataDir, handles, db, cfs.get(1), cfs.get(2), unsynced, synced, readOptions, snapshots[0]);
      self[0] = s;
      s.recover();
      return s;
    } catch (final IOException | RuntimeException e) {
      closeAll(handles, e);
      throw e;
    }
  }

  private static <T extends AutoCloseable> T track(final List<AutoCloseable> handles, final T handle) {
    handles.add(handle);
    return handle;
  }

  private static void closeAll(final List<AutoCloseable> handles, final Throwable failure) {
    for (int i = handles.size() - 1; i >= 0; i--) {
      try {
        handles.get(i).close();
      } catch (final Exception e) {
        if (failure != null) {
          failure.addSuppressed(e);
        }
      }
    }
    handles.clear();
  }

  private void recover() throws IOException {
    try {
      vote = decodeVote(db.get(metaCf, VOTE_KEY));
      purged = decodeLogId(db.get(metaCf, PURGED_KEY));
      final LogId savedCommitted = decodeLogId(db.get(metaCf, COMMITTED_KEY));
      try (RocksIterator it = db.newIterator(logCf, readOptions)) {
        it.seekToLast();
        if (it.isValid() && key(it.key()) > purged.index()) {
          last = LogId.of(term(it.value(), key(it.key())), key(it.key()));
        } else {
          last = purged;
        }
        it.status();
      }
      committed = savedCommitted.index() > last.index() ? last : savedCommitted;
    } catch (final RocksDBException e) {
      throw new IOException("cannot read rocksdb storage dir=" + dir + ": " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------------ encoding

  private static byte[] key(final long index) {
    return ByteBuffer.allocate(8).putLong(index).array();
  }

  private static long key(final byte[] key) {
    return ByteBuffer.wrap(key).getLong();
  }

  private long term(final byte[] value, final long index) throws IOException {
    if (value.length < VALUE_HEADER_BYTES) {
      throw new IOException("corrupt rocksdb storage dir=" + dir + ": value of index=" + index + " has "
          + value.length + " bytes");
    }
    return ByteBuffer.wrap(value).getLong();
  }

  private static byte[] encode(final Entry e) {
    final byte[] v = new byte[VALUE_HEADER_BYTES + e.payload().length];
    ByteBuffer.wrap(v).putLong(e.term()).put((byte) e.kind().code()).put(e.payload());
    return v;
  }

  private Entry decode(final long index, final byte[] v) throws IOException {
    final long term = term(v, index);
    try {
      return new Entry(
          LogId.of(term, index), EntryKind.fromCode(v[8]), Arrays.copyOfRange(v, VALUE_HEADER_BYTES, v.length));
    } catch (final IllegalArgumentException e) {
      throw new IOException("corrupt rocksdb storage dir=" + dir + ": entry index=" + index + ": " + e.getMessage(), e);
    }
  }

  private static byte[] encode(final LogId id) {
    return ByteBuffer.allocate(16).putLong(id.term()).putLong(id.index()).array();
  }

  private LogId decodeLogId(final byte[] v) throws IOException {
    if (v == null) {
      return LogId.ZERO;
    }
    if (v.length != 16) {
      throw new IOException("corrupt rocksdb storage dir=" + dir + ": log id value has " + v.length + " bytes");
    }
    final ByteBuffer b = ByteBuffer.wrap(v);
    return LogId.of(b.getLong(), b.getLong());
  }

  private static byte[] encode(final Vote v) {
    return ByteBuffer.allocate(17).putLong(v.term()).putLong(v.votedFor()).put((byte) (v.committed() ? 1 : 0)).array();
  }

  private Vote decodeVote(final byte[] v) throws IOException {
    if (v == null) {
      return Vote.NONE;
    }
    if (v.length != 17) {
      throw new IOException("corrupt rocksdb storage dir=" + dir + ": vote value has " + v.length + " bytes");
    }
    final ByteBuffer b = ByteBuffer.wrap(v);
    return new Vote(b.getLong(), b.getLong(), b.get() == 1);
  }

  private IOException failure(final String what, final RocksDBException e) {
    return new IOException(what + " failed in rocksdb storage dir=" + dir + ": " + e.getMessage(), e);
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("rocksdb storage dir=" + dir + " is closed");
    }
  }

  void checkOpen() {
    lock.readLock().lock();
    try {
      ensureOpen();
    } finally {
      lock.readLock().unlock();
    }
  }

  // ------------------------------------------------------------------ RaftStorage

  /** {@inheritDoc} */
  @Override
  public LogStore log() {
    return this;
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotStore snapshots() {
    return snapshots;
  }

  /** {@inheritDoc} */
  @Override
  public Vote readVote() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return vote;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} Written with {@code sync=true}: durable when this returns. */
  @Override
  public void saveVote(final Vote v) throws IOException {
    Objects.requireNonNull(v, "vote");
    lock.writeLock().lock();
    try {
      ensureOpen();
      if (v.term() < vote.term()) {
        throw new IllegalArgumentException("saveVote vote=" + v + " has term=" + v.term() + " below the saved vote="
            + vote + " in rocksdb storage dir=" + dir);
      }
      db.put(metaCf, synced, VOTE_KEY, encode(v));
      vote = v;
    } catch (final RocksDBException e) {
      throw failure("saveVote vote=" + v, e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * {@inheritDoc} Written unsynced; durable with the next log sync.
   *
   * @throws IllegalArgumentException if {@code committed} is beyond the last log id
   */
  @Override
  public void saveCommitted(final LogId c) throws IOException {
    Objects.requireNonNull(c, "committed");
    lock.writeLock().lock();
    try {
      ensureOpen();
      if (c.index() > last.index()) {
        throw new IllegalArgumentException("saveCommitted committed=" + c + " is ahead of lastLogId=" + last
            + " in rocksdb storage dir=" + dir);
      }
      db.put(metaCf, unsynced, COMMITTED_KEY, encode(c));
      committed = c;
    } catch (final RocksDBException e) {
      throw failure("saveCommitted committed=" + c, e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public LogId readCommitted() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return committed;
    } finally {
      lock.readLock().unlock();
    }
  }

  // ------------------------------------------------------------------ LogStore

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

  /** {@inheritDoc} One unsynced {@link WriteBatch}. */
  @Override
  public void append(final List<Entry> entries) throws IOException {
    Objects.requireNonNull(entries, "entries");
    lock.writeLock().lock();
    try (WriteBatch batch = new WriteBatch()) {
      ensureOpen();
      if (entries.isEmpty()) {
        return;
      }
      checkAppend(entries);
      for (final Entry e : entries) {
        batch.put(logCf, key(e.index()), encode(e));
      }
      db.write(unsynced, batch);
      last = entries.get(entries.size() - 1).logId();
    } catch (final RocksDBException e) {
      throw failure("append of " + entries.size() + " entries after lastLogId=" + last, e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void checkAppend(final List<Entry> batch) {
    long expected = last.index() + 1;
    long prevTerm = last.term();
    for (final Entry e : batch) {
      Objects.requireNonNull(e, "entry");
      if (e.index() != expected) {
        final String what = e.index() > expected ? "a gap" : "an overlap";
        throw new IllegalArgumentException("append of entry index=" + e.index() + " makes " + what
            + ": expected index=" + expected + " (lastLogId=" + last + ", batch " + batch.get(0).logId() + ".."
            + batch.get(batch.size() - 1).logId() + ") in rocksdb storage dir=" + dir);
      }
      if (e.term() < prevTerm) {
        throw new IllegalArgumentException("append of entry " + e.logId() + " has term=" + e.term()
            + " below the previous term=" + prevTerm + " in rocksdb storage dir=" + dir);
      }
      expected++;
      prevTerm = e.term();
    }
  }

  /** {@inheritDoc} One {@code SyncWAL}: an fsync of the write-ahead log. */
  @Override
  public void sync() throws IOException {
    lock.readLock().lock();
    try {
      ensureOpen();
      db.syncWal();
    } catch (final RocksDBException e) {
      throw failure("sync", e);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} A range delete, durable with the next sync. */
  @Override
  public void truncateSuffix(final long fromIndex) throws IOException {
    lock.writeLock().lock();
    try {
      ensureOpen();
      if (fromIndex <= purged.index()) {
        throw new IllegalArgumentException("truncateSuffix fromIndex=" + fromIndex + " is in the purged prefix"
            + " (purgedLogId=" + purged + ") of rocksdb storage dir=" + dir);
      }
      if (fromIndex > last.index()) {
        return;
      }
      final LogId newLast;
      if (fromIndex - 1 <= purged.index()) {
        newLast = purged;
      } else {
        final long index = fromIndex - 1;
        final byte[] v = db.get(logCf, readOptions, key(index));
        if (v == null) {
          throw new IOException("corrupt rocksdb storage dir=" + dir + ": entry index=" + index + " is missing");
        }
        newLast = LogId.of(term(v, index), index);
      }
      try (WriteBatch batch = new WriteBatch()) {
        batch.deleteRange(logCf, key(fromIndex), key(last.index() + 1));
        if (committed.index() > newLast.index()) {
          batch.put(metaCf, COMMITTED_KEY, encode(newLast));
        }
        db.write(unsynced, batch);
      }
      last = newLast;
      if (committed.index() > newLast.index()) {
        committed = newLast;
      }
    } catch (final RocksDBException e) {
      throw failure("truncateSuffix fromIndex=" + fromIndex, e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** {@inheritDoc} A range delete and the new purged id in one batch, durable with the next sync. */
  @Override
  public void purgePrefix(final LogId upTo) throws IOException {
    Objects.requireNonNull(upTo, "upTo");
    lock.writeLock().lock();
    try (WriteBatch batch = new WriteBatch()) {
      ensureOpen();
      if (upTo.index() < purged.index()) {
        throw new IllegalArgumentException("purgePrefix upTo=" + upTo + " is below purgedLogId=" + purged
            + " of rocksdb storage dir=" + dir);
      }
      if (upTo.index() == purged.index()) {
        return;
      }
      batch.deleteRange(logCf, key(0), key(upTo.index() + 1));
      batch.put(metaCf, PURGED_KEY, encode(upTo));
      db.write(unsynced, batch);
      purged = upTo;
      if (upTo.index() >= last.index()) {
        last = upTo;
      }
    } catch (final RocksDBException e) {
      throw failure("purgePrefix upTo=" + upTo, e);
    } finally {
      lock.writeLock().unlock();
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
        throw new IllegalArgumentException("read range [fromIndex=" + fromIndex + ", toIndex=" + toIndex
            + ") is not within the log [firstIndex=" + first + ", lastIndex+1=" + end + "] of rocksdb storage dir="
            + dir);
      }
      final List<Entry> out = new ArrayList<>((int) Math.min(toIndex - fromIndex, 1024));
      if (fromIndex == toIndex) {
        return out;
      }
      try (RocksIterator it = db.newIterator(logCf, readOptions)) {
        long bytes = 0;
        it.seek(key(fromIndex));
        for (long i = fromIndex; i < toIndex; i++) {
          if (!it.isValid() || key(it.key()) != i) {
            it.status();
            throw new IOException("corrupt rocksdb storage dir=" + dir + ": entry index=" + i + " is missing (found "
                + (it.isValid() ? "index=" + key(it.key()) : "the end") + ")");
          }
          final Entry e = decode(i, it.value());
          out.add(e);
          bytes += e.payload().length;
          if (bytes >= maxBytes) {
            break;
          }
          it.next();
        }
      }
      return out;
    } catch (final RocksDBException e) {
      throw failure("read [" + fromIndex + ", " + toIndex + ")", e);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} Syncs the WAL, then closes every native handle. Idempotent. */
  @Override
  public void close() throws IOException {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      IOException failure = null;
      try {
        db.syncWal();
      } catch (final RocksDBException e) {
        failure = failure("sync on close", e);
      }
      closeAll(handles, failure);
      if (failure != null) {
        throw failure;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "RocksRaftStorage{dir=" + dir + "}";
  }
}
