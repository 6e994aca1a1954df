package io.raftkit.storage.memory.internal;

import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotReader;
import java.nio.ByteBuffer;

/** Reads a finished snapshot from its immutable bytes. Safe to use from one thread at a time. */
final class MemorySnapshotReader implements SnapshotReader {

  private final SnapshotData snapshot;
  private boolean closed;

  MemorySnapshotReader(final SnapshotData snapshot) {
    this.snapshot = snapshot;
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotMeta meta() {
    return snapshot.meta();
  }

  /** {@inheritDoc} */
  @Override
  public long size() {
    ensureOpen();
    return snapshot.data().length;
  }

  /** {@inheritDoc} */
  @Override
  public int read(final long position, final ByteBuffer dst) {
    ensureOpen();
    final byte[] data = snapshot.data();
    if (position < 0) {
      throw new IllegalArgumentException("position=" + position + " must be >= 0");
    }
    if (position >= data.length) {
      return -1;
    }
    final int n = (int) Math.min(dst.remaining(), data.length - position);
    dst.put(data, (int) position, n);
    return n;
  }

  /** {@inheritDoc} */
  @Override
  public void close() {
    closed = true;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("snapshot reader snapshotId=" + snapshot.meta().snapshotId() + " is closed");
    }
  }
}
