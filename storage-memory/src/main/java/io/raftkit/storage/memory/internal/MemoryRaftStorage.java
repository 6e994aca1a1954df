package io.raftkit.storage.memory.internal;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.SnapshotReader;
import io.raftkit.api.spi.SnapshotStore;
import io.raftkit.api.spi.SnapshotWriter;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * One open session over a {@link DurableStore}: the {@link RaftStorage} a node uses. Every call
 * goes to the store, which checks under its lock that this session is still open; after {@link
 * #close()} or a crash every call but {@code close()} throws {@link IllegalStateException}.
 *
 * <p>Thread-safe, as the {@link RaftStorage} contract asks.
 */
final class MemoryRaftStorage implements RaftStorage {

  private final DurableStore store;
  private final long nodeId;
  private final MemoryLog log = new MemoryLog();
  private final MemorySnapshots snapshots = new MemorySnapshots();

  private volatile boolean blocking;

  /**
   * {@inheritDoc} In memory every write is a few array and map updates: true, unless the session
   * was opened with {@value io.raftkit.storage.memory.MemoryStores#BLOCKING_OPTION}{@code =true}.
   */
  @Override
  public boolean neverBlocks() {
    return !blocking;
  }

  /** Makes this session say its writes may block (before the node uses it). */
  void blocking(final boolean value) {
    blocking = value;
  }

  private volatile boolean closed;

  MemoryRaftStorage(final DurableStore store, final long nodeId) {
    this.store = store;
    this.nodeId = nodeId;
  }

  long nodeId() {
    return nodeId;
  }

  boolean isClosed() {
    return closed;
  }

  void markClosed() {
    closed = true;
  }

  void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("memory store name=" + store.name() + " is closed (nodeId=" + nodeId + ")");
    }
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
  public Vote readVote() {
    return store.readVote(this);
  }

  /** {@inheritDoc} The vote is durable at once: a crash keeps it. */
  @Override
  public void saveVote(final Vote vote) {
    store.saveVote(this, vote);
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if {@code committed} is beyond the last log id
   */
  @Override
  public void saveCommitted(final LogId committed) {
    store.saveCommitted(this, committed);
  }

  /** {@inheritDoc} */
  @Override
  public LogId readCommitted() {
    return store.readCommitted(this);
  }

  /** {@inheritDoc} A clean close keeps everything, synced or not; only a crash loses data. */
  @Override
  public void close() {
    store.close(this);
  }

  @Override
  public String toString() {
    return "MemoryRaftStorage{store=" + store.name() + ", nodeId=" + nodeId + ", closed=" + closed + "}";
  }

  /** The log view of this session. */
  private final class MemoryLog implements LogStore {

    @Override
    public LogId lastLogId() {
      return store.lastLogId(MemoryRaftStorage.this);
    }

    @Override
    public LogId purgedLogId() {
      return store.purgedLogId(MemoryRaftStorage.this);
    }

    @Override
    public void append(final List<Entry> entries) {
      store.append(MemoryRaftStorage.this, entries);
    }

    @Override
    public void sync() throws IOException {
      store.sync(MemoryRaftStorage.this);
    }

    @Override
    public void truncateSuffix(final long fromIndex) {
      store.truncateSuffix(MemoryRaftStorage.this, fromIndex);
    }

    @Override
    public void purgePrefix(final LogId upTo) {
      store.purgePrefix(MemoryRaftStorage.this, upTo);
    }

    @Override
    public List<Entry> read(final long fromIndex, final long toIndex, final long maxBytes) {
      return store.read(MemoryRaftStorage.this, fromIndex, toIndex, maxBytes);
    }

    @Override
    public String toString() {
      return "MemoryLog{store=" + store.name() + "}";
    }
  }

  /** The snapshot view of this session. */
  private final class MemorySnapshots implements SnapshotStore {

    @Override
    public SnapshotWriter begin(final SnapshotMeta meta) {
      ensureOpen();
      return new MemorySnapshotWriter(meta, data -> store.publishSnapshot(MemoryRaftStorage.this, data));
    }

    @Override
    public Optional<SnapshotReader> openLatest() {
      return Optional.ofNullable(store.latestSnapshot(MemoryRaftStorage.this)).map(MemorySnapshotReader::new);
    }
  }
}
