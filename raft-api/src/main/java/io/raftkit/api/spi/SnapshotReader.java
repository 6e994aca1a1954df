package io.raftkit.api.spi;

import io.raftkit.api.SnapshotMeta;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Reads one finished snapshot; safe to use from one thread at a time. */
public interface SnapshotReader extends Closeable {

  /** What the snapshot holds. */
  SnapshotMeta meta();

  /** The size of the snapshot's data in bytes. */
  long size() throws IOException;

  /**
   * Reads bytes from {@code position} into {@code dst}.
   *
   * @return the number of bytes read, or -1 at the end
   * @throws IllegalArgumentException if {@code position} is negative
   * @throws IOException if reading fails
   */
  int read(long position, ByteBuffer dst) throws IOException;
}
