package io.raftkit.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.raftkit.api.Entry;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.wire.EncodedFrame;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFormatException;
import io.raftkit.wire.WireFrame;
import java.nio.ByteBuffer;

/**
 * Turns {@link WireFrame}s into length-prefixed {@link ByteBuf}s and back.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |              length of the body, big-endian int32              |
 * +---------------------------------------------------------------+
 * |               body: one raftkit.wire.v1.Frame ...             |
 * +---------------------------------------------------------------+
 * </pre>
 *
 * <p>The receiving side reads the prefix with a {@code LengthFieldBasedFrameDecoder} bounded by
 * {@code netty.maxFrameBytes}; no {@code ByteBuf} goes past {@link #decode}.
 */
final class Frames {

  /** Bytes of the length prefix. */
  static final int HEADER_BYTES = 4;

  private Frames() {}

  /**
   * Encodes a frame, prefix included, into a new buffer from {@code alloc}. The caller owns it.
   *
   * @throws FrameTooLargeException if the body exceeds {@code maxFrameBytes}
   */
  static ByteBuf encode(final ByteBufAllocator alloc, final WireFrame frame, final int maxFrameBytes) {
    final EncodedFrame encoded = WireCodec.encode(frame);
    final int size = encoded.size();
    if (size > maxFrameBytes) {
      throw new FrameTooLargeException(
          "frame size=" + size + " exceeds maxFrameBytes=" + maxFrameBytes + " (option "
              + NettyOptions.MAX_FRAME_BYTES + "); frame kind=" + frame.kind() + " correlationId="
              + frame.correlationId());
    }
    ByteBuf buf = alloc.ioBuffer(HEADER_BYTES + size);
    try {
      buf.writeInt(size);
      final ByteBuffer body = buf.nioBuffer(buf.writerIndex(), size);
      encoded.writeTo(body);
      buf.writerIndex(buf.writerIndex() + size);
      final ByteBuf out = buf;
      buf = null;
      return out;
    } finally {
      if (buf != null) {
        buf.release();
      }
    }
  }

  /**
   * About how many bytes a frame encodes to, without encoding it: payloads plus a fixed overhead
   * per entry and per frame. Used to bound queues by bytes.
   */
  static long estimate(final WireFrame frame) {
    if (frame.kind() == WireFrame.Kind.REQUEST
        && ((WireFrame.Request) frame).request() instanceof AppendRequest append) {
      long bytes = 64;
      for (final Entry e : append.entries()) {
        bytes += 32 + e.payload().length;
      }
      return bytes;
    }
    return 64;
  }

  /**
   * Decodes one frame body (prefix already stripped). Does not release {@code body}: the caller
   * does, in a {@code finally}.
   */
  static WireFrame decode(final ByteBuf body) throws WireFormatException {
    if (body.nioBufferCount() == 1) {
      return WireCodec.decode(body.nioBuffer());
    }
    return WireCodec.decode(ByteBufUtil.getBytes(body));
  }

  /** A frame above the configured maximum: refused before anything is written. */
  static final class FrameTooLargeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    FrameTooLargeException(final String message) {
      super(message);
    }
  }
}
