package io.raftkit.wire;

import java.nio.ByteBuffer;

/**
 * A frame ready to be written: its exact size is known, so a transport can allocate one buffer
 * (with room for its own header) and have the frame written straight into it.
 *
 * <p>Immutable and thread-safe; it may be written any number of times.
 */
public interface EncodedFrame {

  /**
   * The number of bytes {@link #writeTo} writes.
   *
   * @return the size, {@code >= 0}
   */
  int size();

  /**
   * Writes the frame at {@code dst}'s position and advances the position by {@link #size()}.
   *
   * @param dst a heap or direct buffer with at least {@link #size()} bytes remaining
   * @throws java.nio.BufferOverflowException if {@code dst} has too little room
   */
  void writeTo(ByteBuffer dst);

  /**
   * The frame as a new array.
   *
   * @return the bytes
   */
  byte[] toByteArray();
}
