package io.raftkit.storage.support;

import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** Reads the data of one checked snapshot file. Safe to use from one thread at a time. */
final class FileSnapshotReader implements SnapshotReader {

  private final SnapshotMeta meta;
  private final FileChannel channel;
  private final Path file;
  private final long dataOffset;
  private final long dataSize;
  private boolean closed;

  FileSnapshotReader(
      final SnapshotMeta meta, final FileChannel channel, final Path file, final long dataOffset, final long dataSize) {
    this.meta = meta;
    this.channel = channel;
    this.file = file;
    this.dataOffset = dataOffset;
    this.dataSize = dataSize;
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotMeta meta() {
    return meta;
  }

  /** {@inheritDoc} */
  @Override
  public long size() {
    ensureOpen();
    return dataSize;
  }

  /** {@inheritDoc} */
  @Override
  public int read(final long position, final ByteBuffer dst) throws IOException {
    ensureOpen();
    if (position < 0) {
      throw new IllegalArgumentException("position=" + position + " must be >= 0");
    }
    if (position >= dataSize) {
      return -1;
    }
    final int n = (int) Math.min(dst.remaining(), dataSize - position);
    final ByteBuffer view = dst.slice();
    view.limit(n);
    Fs.readFully(channel, view, dataOffset + position, file);
    dst.position(dst.position() + n);
    return n;
  }

  /** {@inheritDoc} */
  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      channel.close();
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("snapshot reader snapshotId=" + meta.snapshotId() + " is closed");
    }
  }
}
