package io.raftkit.transport.aeron;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The transport's own header in front of every Aeron message: what kind of frame follows, who
 * sent it, and where this chunk sits in the whole frame.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |        magic 0x4B52 ("RK")    |   version 1   |     flags     |  flags: 1 = BEGIN, 2 = END
 * +---------------+---------------+---------------+---------------+
 * |     type      |                  reserved (0)                 |  type: see the TYPE_ constants
 * +---------------+-----------------------------------------------+
 * |            incarnation of the sending transport (int64)         |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |   handshake id (int64): set on HELLO and echoed by HELLO_REPLY  |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |               total body length of the frame (int32)           |
 * +---------------------------------------------------------------+
 * |              offset of this chunk in the body (int32)          |
 * +---------------------------------------------------------------+
 * |                       chunk bytes ...                         |
 * +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Little-endian (Agrona's default). The body is one {@code raftkit.wire.v1.Frame}; a HELLO body
 * is prefixed by the sender's reply address: a little-endian uint16 length and that many US-ASCII
 * bytes. Frames larger than one Aeron message ({@code termLength / 8}) are split into chunks,
 * offered back to back on one exclusive publication, so the chunks of a frame arrive in order and
 * contiguously on the receiver's image for that publication.
 */
final class Envelope {

  /** Header bytes. */
  static final int HEADER_LENGTH = 32;

  static final short MAGIC = 0x4B52;
  static final byte VERSION = 1;

  static final int FLAG_BEGIN = 1;
  static final int FLAG_END = 2;

  static final byte TYPE_HELLO = 1;
  static final byte TYPE_HELLO_REPLY = 2;
  static final byte TYPE_REQUEST = 3;
  static final byte TYPE_RESPONSE = 4;

  static final int MAGIC_OFFSET = 0;
  static final int VERSION_OFFSET = 2;
  static final int FLAGS_OFFSET = 3;
  static final int TYPE_OFFSET = 4;
  static final int INCARNATION_OFFSET = 8;
  static final int HANDSHAKE_ID_OFFSET = 16;
  static final int TOTAL_LENGTH_OFFSET = 24;
  static final int CHUNK_OFFSET_OFFSET = 28;

  /** The longest reply address a HELLO may carry. */
  static final int MAX_REPLY_ADDRESS_LENGTH = 255;

  private Envelope() {}

  static void write(
      final MutableDirectBuffer buffer,
      final int flags,
      final byte type,
      final long incarnation,
      final long handshakeId,
      final int totalLength,
      final int chunkOffset) {
    buffer.putShort(MAGIC_OFFSET, MAGIC);
    buffer.putByte(VERSION_OFFSET, VERSION);
    buffer.putByte(FLAGS_OFFSET, (byte) flags);
    buffer.putByte(TYPE_OFFSET, type);
    buffer.putByte(TYPE_OFFSET + 1, (byte) 0);
    buffer.putShort(TYPE_OFFSET + 2, (short) 0);
    buffer.putLong(INCARNATION_OFFSET, incarnation);
    buffer.putLong(HANDSHAKE_ID_OFFSET, handshakeId);
    buffer.putInt(TOTAL_LENGTH_OFFSET, totalLength);
    buffer.putInt(CHUNK_OFFSET_OFFSET, chunkOffset);
  }

  static boolean hasValidPrefix(final DirectBuffer buffer, final int offset, final int length) {
    return length >= HEADER_LENGTH
        && buffer.getShort(offset + MAGIC_OFFSET) == MAGIC
        && buffer.getByte(offset + VERSION_OFFSET) == VERSION;
  }

  static String typeName(final int type) {
    switch (type) {
      case TYPE_HELLO:
        return "HELLO";
      case TYPE_HELLO_REPLY:
        return "HELLO_REPLY";
      case TYPE_REQUEST:
        return "REQUEST";
      case TYPE_RESPONSE:
        return "RESPONSE";
      default:
        return "unknown(" + type + ")";
    }
  }
}
