package io.raftkit.storage.memory.internal;

import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotWriter;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Collects a snapshot's chunks in a growing array; {@link #finish()} hands the bytes to the store,
 * which makes them the latest snapshot in one step. Until then nothing is visible. Not thread-safe.
 */
final class MemorySnapshotWriter implements SnapshotWriter {

  private enum State {
    WRITING,
    FINISHED,
    CLOSED
  }

  private final SnapshotMeta meta;
  private final Consumer<SnapshotData> publisher;
  private byte[] buf = new byte[256];
  private int size;
  private State state = State.WRITING;

  MemorySnapshotWriter(final SnapshotMeta meta, final Consumer<SnapshotData> publisher) {
    this.meta = Objects.requireNonNull(meta, "meta");
    this.publisher = publisher;
  }

  /** {@inheritDoc} */
  @Override
  public SnapshotMeta meta() {
    return meta;
  }

  /** {@inheritDoc} */
  @Override
  public void write(final ByteBuffer chunk) {
    ensureWriting("write");
    final int n = chunk.remaining();
    if ((long) size + n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "snapshot " + meta.snapshotId() + " would exceed the memory limit: size=" + size + " chunk=" + n);
    }
    if (size + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(size + n, buf.length * 2));
    }
    chunk.get(buf, size, n);
    size += n;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalStateException if the writer was finished or closed, or the storage is closed
   */
  @Override
  public void finish() {
    ensureWriting("finish");
    publisher.accept(new SnapshotData(meta, Arrays.copyOf(buf, size)));
    state = State.FINISHED;
    buf = null;
  }

  /** {@inheritDoc} */
  @Override
  public void close() {
    if (state == State.WRITING) {
      state = State.CLOSED;
      buf = null;
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
