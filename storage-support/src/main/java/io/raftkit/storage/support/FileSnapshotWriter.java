package io.raftkit.storage.support;

import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * Writes one snapshot file: data after room for the header, then at {@link #finish()} the header
 * (with the data's checksum), a force, and the rename to the final name. Not thread-safe.
 */
final class FileSnapshotWriter implements SnapshotWriter {

  private enum State {
    WRITING,
    FINISHED,
    CLOSED
  }

  private final SnapshotMeta meta;
  private final byte[] metaBytes;
  private final Path tmp;
  private final Path target;
  private final FileSnapshotStore store;
  private final FileChannel channel;
  private final CRC32C crc = new CRC32C();
  private long size;
  private State state = State.WRITING;

  FileSnapshotWriter(final SnapshotMeta meta, final Path tmp, final Path target, final FileSnapshotStore store)
      throws IOException {
    this.meta = meta;
    this.metaBytes = SnapshotFiles.encodeMeta(meta);
    this.tmp = tmp;
    this.target = target;
    this.store = store;
    this.channel =
        FileChannel.open(
            tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotMeta meta() {
    return meta;
  }

  /** {@inheritDoc} */
  @Override
  public void write(final ByteBuffer chunk) throws IOException {
    ensureWriting("write");
    final ByteBuffer view = chunk.duplicate();
    crc.update(view);
    final int n = chunk.remaining();
    Fs.writeFully(channel, chunk, SnapshotFiles.HEADER_BYTES + metaBytes.length + size);
    size += n;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalStateException if finished or closed already, or the storage is closed
   */
  @Override
  public void finish() throws IOException {
    ensureWriting("finish");
    store.checkOpen();
    try {
      Fs.writeFully(channel, SnapshotFiles.header(metaBytes, size, (int) crc.getValue()), 0);
      channel.force(true);
      channel.close();
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      state = State.FINISHED;
    } catch (final IOException | RuntimeException e) {
      close();
      throw e;
    }
    store.published(target);
  }

  /** {@inheritDoc} */
  @Override
  public void close() throws IOException {
    if (state == State.WRITING) {
      state = State.CLOSED;
      try {
        channel.close();
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
  }

  private void ensureWriting(final String op) {
    if (state != State.WRITING) {
      throw new IllegalStateException(
          op + " on snapshot writer snapshotId=" + meta.snapshotId() + " that is "
              + state.name().toLowerCase(Locale.ROOT));
    }
  }
}
