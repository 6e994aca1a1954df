package io.raftkit.storage.memory.internal;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.Vote;
import io.raftkit.storage.memory.MemoryStore;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The "disk" of one node: the state that outlives a session, and the crash model.
 *
 * <p><b>Crash model.</b> Rather than copying the log at every sync, the store remembers what a
 * crash would have to undo: {@code syncedLast} is the last log id at the last sync, and every
 * synced entry a {@link #truncateSuffix} removed since then is kept in {@code undo}, which always
 * holds the original entries {@code [lowWater, syncedLast.index]} (minus purged ones). A crash
 * cuts the log at {@code min(lowWater, syncedLast.index + 1)} and puts the {@code undo} entries
 * back. Sync is O(1); a truncation costs O(entries it removes).
 *
 * <p><b>Threading.</b> A read-write lock guards the log, the vote and the committed id: reads
 * (from any thread) share it, writes (from the node's log-writer thread, or a test's {@link
 * #crash()}) hold it exclusively. Every session operation checks under the lock that its session
 * is still open, so nothing a crashed node does after the crash reaches the "disk". A second lock
 * with a condition implements {@link #holdSyncs()}; a blocked sync holds neither the read nor the
 * write lock.
 */
final class DurableStore implements MemoryStore {
  private volatile IOException syncFailure;

  private final String name;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  // Guarded by lock.
  private final EntryArray entries = new EntryArray();
  private final ArrayDeque<Entry> undo = new ArrayDeque<>();
  private LogId purged = LogId.ZERO;
  private LogId syncedLast = LogId.ZERO;
  private long lowWater = Long.MAX_VALUE;
  private LogId committed = LogId.ZERO;
  private LogId committedAtSync = LogId.ZERO;
  private Vote vote = Vote.NONE;
  private SnapshotData latestSnapshot;
  private MemoryRaftStorage session;

  private final AtomicLong syncCount = new AtomicLong();
  private volatile String lastAppendThread;

  private final ReentrantLock holdLock = new ReentrantLock();
  private final Condition holdChanged = holdLock.newCondition();
  // Guarded by holdLock.
  private boolean held;
  private int blocked;

  DurableStore(final String name) {
    this.name = name;
  }

  // ---------------------------------------------------------------- sessions

  /** Opens a session; refuses if one is open, as a second process could not lock the files. */
  MemoryRaftStorage open(final long nodeId) throws IOException {
    lock.writeLock().lock();
    try {
      if (session != null) {
        throw new IOException(
            "memory store name=" + name + " is already open by nodeId=" + session.nodeId()
                + "; close it before opening it again (nodeId=" + nodeId + ")");
      }
      session = new MemoryRaftStorage(this, nodeId);
      return session;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Closes a session, keeping everything (a clean exit). Idempotent. */
  void close(final MemoryRaftStorage s) {
    lock.writeLock().lock();
    try {
      s.markClosed();
      if (session == s) {
        session = null;
      }
    } finally {
      lock.writeLock().unlock();
    }
    wakeSyncWaiters();
  }

  // ---------------------------------------------------------------- log reads

  LogId lastLogId(final MemoryRaftStorage s) {
    lock.readLock().lock();
    try {
      s.ensureOpen();
      return lastLogIdLocked();
    } finally {
      lock.readLock().unlock();
    }
  }

  LogId purgedLogId(final MemoryRaftStorage s) {
    lock.readLock().lock();
    try {
      s.ensureOpen();
      return purged;
    } finally {
      lock.readLock().unlock();
    }
  }

  List<Entry> read(final MemoryRaftStorage s, final long fromIndex, final long toIndex, final long maxBytes) {
    lock.readLock().lock();
    try {
      s.ensureOpen();
      final long first = entries.firstIndex();
      final long end = entries.lastIndex() + 1;
      if (fromIndex > toIndex || fromIndex < first || toIndex > end) {
        throw new IllegalArgumentException(
            "read range [fromIndex=" + fromIndex + ", toIndex=" + toIndex
                + ") is not within the log [firstIndex=" + first + ", lastIndex+1=" + end
                + "] of memory store name=" + name);
      }
      final List<Entry> out = new ArrayList<>((int) Math.min(toIndex - fromIndex, 1024));
      long bytes = 0;
      for (long i = fromIndex; i < toIndex; i++) {
        final Entry e = entries.get(i);
        out.add(e);
        bytes += e.payload().length;
        if (bytes >= maxBytes) {
          break;
        }
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---------------------------------------------------------------- log writes

  void append(final MemoryRaftStorage s, final List<Entry> batch) {
    Objects.requireNonNull(batch, "entries");
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      if (batch.isEmpty()) {
        return;
      }
      checkAppend(batch);
      for (final Entry e : batch) {
        entries.add(e);
      }
      lastAppendThread = Thread.currentThread().getName();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Checks the whole batch before anything is appended, so that a bad batch changes nothing. */
  private void checkAppend(final List<Entry> batch) {
    final LogId last = lastLogIdLocked();
    long expected = last.index() + 1;
    long prevTerm = last.term();
    for (final Entry e : batch) {
      Objects.requireNonNull(e, "entry");
      if (e.index() != expected) {
        final String what = e.index() > expected ? "a gap" : "an overlap";
        throw new IllegalArgumentException(
            "append of entry index=" + e.index() + " makes " + what + ": expected index=" + expected
                + " (lastLogId=" + last + ", batch " + batch.get(0).logId() + ".."
                + batch.get(batch.size() - 1).logId() + ") in memory store name=" + name);
      }
      if (e.term() < prevTerm) {
        throw new IllegalArgumentException(
            "append of entry " + e.logId() + " has term=" + e.term() + " below the previous term="
                + prevTerm + " in memory store name=" + name);
      }
      expected++;
      prevTerm = e.term();
    }
  }

  void truncateSuffix(final MemoryRaftStorage s, final long fromIndex) {
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      if (fromIndex <= purged.index()) {
        throw new IllegalArgumentException(
            "truncateSuffix fromIndex=" + fromIndex + " is in the purged prefix (purgedLogId=" + purged
                + ") of memory store name=" + name);
      }
      final long last = entries.lastIndex();
      if (fromIndex > last) {
        return;
      }
      // Keep the synced originals this removes, so that a crash can put them back.
      final long keptUpTo = Math.min(Math.min(lowWater - 1, syncedLast.index()), last);
      for (long i = keptUpTo; i >= fromIndex; i--) {
        undo.addFirst(entries.get(i));
      }
      if (fromIndex <= syncedLast.index()) {
        lowWater = Math.min(lowWater, fromIndex);
      }
      entries.truncateFrom(fromIndex);
    } finally {
      lock.writeLock().unlock();
    }
  }

  void purgePrefix(final MemoryRaftStorage s, final LogId upTo) {
    Objects.requireNonNull(upTo, "upTo");
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      if (upTo.index() < purged.index()) {
        throw new IllegalArgumentException(
            "purgePrefix upTo=" + upTo + " is below purgedLogId=" + purged + " of memory store name=" + name);
      }
      if (upTo.index() == purged.index()) {
        return;
      }
      while (!undo.isEmpty() && undo.peekFirst().index() <= upTo.index()) {
        undo.pollFirst();
      }
      entries.purgeTo(upTo.index());
      purged = upTo;
    } finally {
      lock.writeLock().unlock();
    }
  }

  void sync(final MemoryRaftStorage s) throws IOException {
    awaitSyncAllowed(s);
    final IOException failure = syncFailure;
    if (failure != null) {
      throw new IOException("sync of memory store failed (injected): " + failure.getMessage(), failure);
    }
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      syncedLast = lastLogIdLocked();
      lowWater = Long.MAX_VALUE;
      undo.clear();
      committedAtSync = committed;
      syncCount.incrementAndGet();
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---------------------------------------------------------------- vote, committed

  Vote readVote(final MemoryRaftStorage s) {
    lock.readLock().lock();
    try {
      s.ensureOpen();
      return vote;
    } finally {
      lock.readLock().unlock();
    }
  }

  void saveVote(final MemoryRaftStorage s, final Vote newVote) {
    Objects.requireNonNull(newVote, "vote");
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      if (newVote.term() < vote.term()) {
        throw new IllegalArgumentException(
            "saveVote vote=" + newVote + " has term=" + newVote.term() + " below the saved vote=" + vote
                + " in memory store name=" + name);
      }
      vote = newVote;
    } finally {
      lock.writeLock().unlock();
    }
  }

  LogId readCommitted(final MemoryRaftStorage s) {
    lock.readLock().lock();
    try {
      s.ensureOpen();
      return committed;
    } finally {
      lock.readLock().unlock();
    }
  }

  void saveCommitted(final MemoryRaftStorage s, final LogId newCommitted) {
    Objects.requireNonNull(newCommitted, "committed");
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      final LogId last = lastLogIdLocked();
      if (newCommitted.index() > last.index()) {
        throw new IllegalArgumentException(
            "saveCommitted committed=" + newCommitted + " is ahead of lastLogId=" + last
                + " in memory store name=" + name);
      }
      committed = newCommitted;
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---------------------------------------------------------------- snapshots

  void publishSnapshot(final MemoryRaftStorage s, final SnapshotData snapshot) {
    lock.writeLock().lock();
    try {
      s.ensureOpen();
      latestSnapshot = snapshot;
    } finally {
      lock.writeLock().unlock();
    }
  }

  SnapshotData latestSnapshot(final MemoryRaftStorage s) {
    lock.readLock().lock();
    try {
      s.ensureOpen();
      return latestSnapshot;
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---------------------------------------------------------------- MemoryStore (test handle)

  /** {@inheritDoc} */
  @Override
  public String name() {
    return name;
  }

  /** {@inheritDoc} */
  @Override
  public void crash() {
    lock.writeLock().lock();
    try {
      if (session != null) {
        session.markClosed();
        session = null;
      }
      rollBackToSync();
    } finally {
      lock.writeLock().unlock();
    }
    wakeSyncWaiters();
  }

  private void rollBackToSync() {
    final long cut = Math.min(lowWater, syncedLast.index() + 1);
    if (cut <= purged.index()) {
      entries.truncateFrom(entries.firstIndex());
    } else if (cut <= entries.lastIndex()) {
      entries.truncateFrom(cut);
    }
    for (final Entry e : undo) {
      if (e.index() != entries.lastIndex() + 1) {
        throw new IllegalStateException(
            "memory store name=" + name + " cannot restore entry " + e.logId() + " after lastIndex="
                + entries.lastIndex() + ": undo log is not contiguous");
      }
      entries.add(e);
    }
    undo.clear();
    lowWater = Long.MAX_VALUE;
    syncedLast = lastLogIdLocked();
    committed = committedAtSync.index() <= syncedLast.index() ? committedAtSync : syncedLast;
    committedAtSync = committed;
  }

  /** {@inheritDoc} */
  @Override
  public boolean isOpen() {
    lock.readLock().lock();
    try {
      return session != null;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public LogId lastLogId() {
    lock.readLock().lock();
    try {
      return lastLogIdLocked();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public LogId syncedLastLogId() {
    lock.readLock().lock();
    try {
      return syncedLast.index() > purged.index() ? syncedLast : purged;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public LogId purgedLogId() {
    lock.readLock().lock();
    try {
      return purged;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public Vote vote() {
    lock.readLock().lock();
    try {
      return vote;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public LogId committed() {
    lock.readLock().lock();
    try {
      return committed;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public Optional<SnapshotMeta> latestSnapshot() {
    lock.readLock().lock();
    try {
      return Optional.ofNullable(latestSnapshot).map(SnapshotData::meta);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public long syncCount() {
    return syncCount.get();
  }

  @Override
  public String lastAppendThread() {
    return lastAppendThread;
  }

  /** {@inheritDoc} */
  @Override
  public void failSyncs(final IOException failure) {
    syncFailure = failure;
  }

  /** {@inheritDoc} */
  @Override
  public void holdSyncs() {
    holdLock.lock();
    try {
      held = true;
      holdChanged.signalAll();
    } finally {
      holdLock.unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public void releaseSyncs() {
    holdLock.lock();
    try {
      held = false;
      holdChanged.signalAll();
    } finally {
      holdLock.unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public int blockedSyncs() {
    holdLock.lock();
    try {
      return blocked;
    } finally {
      holdLock.unlock();
    }
  }

  /** {@inheritDoc} */
  @Override
  public boolean awaitBlockedSync(final Duration timeout) throws InterruptedException {
    long nanos = timeout.toNanos();
    holdLock.lock();
    try {
      while (blocked == 0) {
        if (nanos <= 0) {
          return false;
        }
        nanos = holdChanged.awaitNanos(nanos);
      }
      return true;
    } finally {
      holdLock.unlock();
    }
  }

  private void awaitSyncAllowed(final MemoryRaftStorage s) throws InterruptedIOException {
    holdLock.lock();
    try {
      if (!held) {
        return;
      }
      blocked++;
      holdChanged.signalAll();
      try {
        while (held && !s.isClosed()) {
          holdChanged.await();
        }
      } catch (final InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException(
            "sync of memory store name=" + name + " was interrupted while syncs are held");
      } finally {
        blocked--;
        holdChanged.signalAll();
      }
    } finally {
      holdLock.unlock();
    }
  }

  private void wakeSyncWaiters() {
    holdLock.lock();
    try {
      holdChanged.signalAll();
    } finally {
      holdLock.unlock();
    }
  }

  private LogId lastLogIdLocked() {
    return entries.isEmpty() ? purged : entries.last().logId();
  }

  @Override
  public String toString() {
    lock.readLock().lock();
    try {
      return "MemoryStore{name=" + name + ", purged=" + purged + ", last=" + lastLogIdLocked()
          + ", syncedLast=" + syncedLast + ", vote=" + vote + ", open=" + (session != null) + "}";
    } finally {
      lock.readLock().unlock();
    }
  }
}
