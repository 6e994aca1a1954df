package io.raftkit.examples.kv;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One command of the key-value state machine, and its compact binary form (the log entry
 * payload).
 *
 * <pre>
 *  +------+---------+-----------+--------------------------------------------------+
 *  | op   | keyLen  | key       | by op                                            |
 *  | u8   | u16 BE  | UTF-8     | PUT: value (UTF-8, the rest)                     |
 *  |      |         |           | CAS: hasExpected u8 (0|1), [expectedLen i32 BE,  |
 *  |      |         |           |      expected UTF-8], value (UTF-8, the rest)    |
 *  |      |         |           | GET, DELETE: nothing                             |
 *  +------+---------+-----------+--------------------------------------------------+
 * </pre>
 *
 * <p>A {@code GET} changes nothing when applied. The HTTP API and the demo no longer write it
 * (linearizable reads use {@link io.raftkit.api.Raft#ensureLinearizable}); it stays in the format so
 * that logs holding one still replay.
 *
 * @param op what to do
 * @param key the key; valid per {@link #keyProblem(String)}
 * @param expected CAS only: the value the key must have, or {@code null} for "absent"
 * @param value PUT and CAS: the new value; else {@code null}
 */
record KvCommand(Op op, String key, String expected, String value) {

  /** The longest key, in UTF-8 bytes. */
  static final int MAX_KEY_BYTES = 256;

  /** The operations; {@link #code()} is persisted in the log and never changes. */
  enum Op {
    /** Sets a key. */
    PUT(1),
    /** Removes a key. */
    DELETE(2),
    /** Sets a key if its value is the expected one. */
    CAS(3),
    /** Reads a key through the log. */
    GET(4);

    private final int code;

    Op(final int code) {
      this.code = code;
    }

    /** The persisted code. */
    int code() {
      return code;
    }

    static Op fromCode(final int code) {
      for (final Op op : values()) {
        if (op.code == code) {
          return op;
        }
      }
      throw new IllegalArgumentException("unknown op code=" + code);
    }
  }

  /** Validates the fields. */
  KvCommand {
    Objects.requireNonNull(op, "op");
    final String problem = keyProblem(key);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    final boolean needsValue = op == Op.PUT || op == Op.CAS;
    if (needsValue != (value != null)) {
      throw new IllegalArgumentException("op=" + op + (needsValue ? " needs a value" : " takes no value"));
    }
    if (op != Op.CAS && expected != null) {
      throw new IllegalArgumentException("op=" + op + " takes no expected value");
    }
  }

  static KvCommand put(final String key, final String value) {
    return new KvCommand(Op.PUT, key, null, value);
  }

  static KvCommand delete(final String key) {
    return new KvCommand(Op.DELETE, key, null, null);
  }

  static KvCommand cas(final String key, final String expected, final String value) {
    return new KvCommand(Op.CAS, key, expected, value);
  }

  static KvCommand get(final String key) {
    return new KvCommand(Op.GET, key, null, null);
  }

  /**
   * Why {@code key} is not a valid key, or {@code null} if it is: a key is 1 to {@value
   * #MAX_KEY_BYTES} UTF-8 bytes with no control characters and no unpaired surrogates.
   */
  static String keyProblem(final String key) {
    if (key == null || key.isEmpty()) {
      return "key must not be empty";
    }
    for (int i = 0; i < key.length(); i++) {
      final char c = key.charAt(i);
      if (Character.isISOControl(c)) {
        return "key must not contain control characters, found U+" + String.format("%04X", (int) c)
            + " at index " + i;
      }
      if (Character.isHighSurrogate(c) && i + 1 < key.length() && Character.isLowSurrogate(key.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return "key must not contain an unpaired surrogate, at index " + i;
      }
    }
    final int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_KEY_BYTES) {
      return "key is " + bytes + " bytes; keyBytes=" + bytes + " must be <= " + MAX_KEY_BYTES;
    }
    return null;
  }

  /** The log entry payload. */
  byte[] encode() {
    final byte[] k = key.getBytes(StandardCharsets.UTF_8);
    final byte[] v = value == null ? new byte[0] : value.getBytes(StandardCharsets.UTF_8);
    final byte[] e = expected == null ? null : expected.getBytes(StandardCharsets.UTF_8);
    int size = 1 + 2 + k.length + v.length;
    if (op == Op.CAS) {
      size += 1 + (e == null ? 0 : 4 + e.length);
    }
    final ByteBuffer buf = ByteBuffer.allocate(size);
    buf.put((byte) op.code()).putShort((short) k.length).put(k);
    if (op == Op.CAS) {
      buf.put((byte) (e == null ? 0 : 1));
      if (e != null) {
        buf.putInt(e.length).put(e);
      }
    }
    buf.put(v);
    return buf.array();
  }

  /**
   * Decodes what {@link #encode()} wrote.
   *
   * @throws IllegalArgumentException if {@code bytes} is not a valid command
   */
  static KvCommand decode(final byte[] bytes) {
    try {
      final ByteBuffer buf = ByteBuffer.wrap(bytes);
      final Op op = Op.fromCode(buf.get() & 0xff);
      final int keyLen = buf.getShort() & 0xffff;
      final String key = utf8(buf, keyLen);
      String expected = null;
      if (op == Op.CAS) {
        final int flag = buf.get();
        if (flag == 1) {
          final int len = buf.getInt();
          if (len < 0 || len > buf.remaining()) {
            throw new IllegalArgumentException("bad expectedLen=" + len + " with " + buf.remaining() + " bytes left");
          }
          expected = utf8(buf, len);
        } else if (flag != 0) {
          throw new IllegalArgumentException("bad hasExpected=" + flag);
        }
      }
      final String value = op == Op.PUT || op == Op.CAS ? utf8(buf, buf.remaining()) : null;
      if (buf.hasRemaining()) {
        throw new IllegalArgumentException(buf.remaining() + " trailing bytes after op=" + op);
      }
      return new KvCommand(op, key, expected, value);
    } catch (final BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated command of " + bytes.length + " bytes", e);
    }
  }

  private static String utf8(final ByteBuffer buf, final int len) {
    if (len > buf.remaining()) {
      throw new BufferUnderflowException();
    }
    final ByteBuffer slice = buf.slice().limit(len);
    buf.position(buf.position() + len);
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(slice)
          .toString();
    } catch (final CharacterCodingException e) {
      throw new IllegalArgumentException("invalid UTF-8 in a command", e);
    }
  }
}
