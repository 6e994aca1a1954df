package io.raftkit.api.spi;

import io.raftkit.api.SnapshotMeta;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Writes one snapshot in chunks. Not thread-safe. */
public interface SnapshotWriter extends Closeable {

  /** What is being written. */
  SnapshotMeta meta();

  /**
   * Appends the remaining bytes of {@code chunk}.
   *
   * @throws IOException if writing fails
   * @throws IllegalStateException after {@link #finish()} or {@link #close()}
   */
  void write(ByteBuffer chunk) throws IOException;

  /**
   * Makes the snapshot durable and visible as the latest, atomically. Older snapshots may be
   * deleted.
   *
   * @throws IOException if it cannot be made durable; the snapshot is then not visible
   */
  void finish() throws IOException;

  /** Abandons the snapshot unless it was finished. Idempotent. */
  @Override
  void close() throws IOException;
}
