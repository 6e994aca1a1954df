package io.raftkit.wire;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.wire.proto.Frame;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A hand-written protobuf codec for the two frames of log replication: a {@code Frame} whose body
 * is an {@code AppendRequest} or an {@code AppendResponse}. It writes and reads exactly the bytes
 * of {@code raftkit/wire/v1/raftkit.proto}, without the generated classes.
 *
 * <p><b>Why.</b> On the replication path the generated classes cost a builder per entry, a
 * growing {@code ArrayList} per request on both sides (the generated builders start from an empty
 * list, so 64 entries take 12 array copies), a {@code ByteString} per payload and, on decode, a
 * second payload copy into the raft-api {@link Entry}. Here encoding computes the size and writes
 * the fields straight from the raft-api objects with {@link CodedOutputStream}; decoding reads
 * with {@link CodedInputStream} straight into raft-api objects, copying each payload once, from
 * the input into the entry's array. (Aliasing the input instead is not possible: an {@link Entry}
 * owns a {@code byte[]}, and {@link WireCodec} promises that nothing decoded refers to the input,
 * which transports release as soon as decode returns.)
 *
 * <p><b>The generated path stays the reference.</b> The decoder accepts only frames it fully
 * understands and declines ({@code null}) everything else: another body, a repeated body (which
 * protobuf would merge), a {@code prev_log_id} after an entry, malformed bytes, or a message that
 * breaks a raft-api rule. {@link WireCodec} then decodes the same bytes with the generated classes,
 * so an unusual frame gets protobuf's exact semantics and a bad one the same {@link
 * WireFormatException} as before, message included. Whatever the decoder accepts it must decode
 * exactly as the generated path would: it skips unknown fields (a known field number with another
 * wire type is unknown to protobuf too), lets the last value of a repeated scalar win and merges
 * repeated {@code prev_log_id}s, and bounds nested unknown groups a little more strictly than
 * protobuf does (so that it never accepts what protobuf refuses). The differential tests in {@code
 * AppendFrameCodecTest} hold it to that.
 *
 * <p><b>Keeping in step with the schema.</b> {@link #SCHEMA} lists every field of the messages
 * written here; a test compares it with the generated descriptors and fails when the .proto gains,
 * loses, renumbers or retypes one, so nobody can extend these messages and forget this codec. The
 * other members of {@code Frame.body} are read from the descriptor, so that a new body after an
 * append body is still recognized as replacing it.
 *
 * <p>Stateless and thread-safe.
 */
final class AppendFrameCodec {

  /**
   * Every field this codec reads and writes, as {@code Message.field=number [repeated] type} (the
   * protobuf type, or the message or enum name), for {@code
   * Frame} (its non-body fields and the two bodies handled here), {@code AppendRequest}, {@code
   * LogId}, {@code Entry}, {@code AppendResponse}, and the {@code EntryKind} values.
   */
  static final List<String> SCHEMA =
      List.of(
          "Frame.correlation_id=1 UINT64",
          "Frame.group_id=2 UINT64",
          "Frame.append_request=12 AppendRequest",
          "Frame.append_response=13 AppendResponse",
          "AppendRequest.term=1 UINT64",
          "AppendRequest.leader_id=2 UINT64",
          "AppendRequest.prev_log_id=3 LogId",
          "AppendRequest.entries=4 repeated Entry",
          "AppendRequest.leader_commit=5 UINT64",
          "LogId.term=1 UINT64",
          "LogId.index=2 UINT64",
          "Entry.term=1 UINT64",
          "Entry.index=2 UINT64",
          "Entry.kind=3 EntryKind",
          "Entry.payload=4 BYTES",
          "AppendResponse.term=1 UINT64",
          "AppendResponse.success=2 BOOL",
          "AppendResponse.match_index=3 UINT64",
          "AppendResponse.conflict_index=4 UINT64",
          "EntryKind.ENTRY_KIND_NORMAL=0",
          "EntryKind.ENTRY_KIND_BLANK=1",
          "EntryKind.ENTRY_KIND_MEMBERSHIP=2");

  private static final int VARINT = 0;
  private static final int LEN = 2;

  // Frame
  private static final int FRAME_CORRELATION_ID = tag(1, VARINT);
  private static final int FRAME_GROUP_ID = tag(2, VARINT);
  private static final int FRAME_APPEND_REQUEST = tag(12, LEN);
  private static final int FRAME_APPEND_RESPONSE = tag(13, LEN);
  // AppendRequest
  private static final int REQUEST_TERM = tag(1, VARINT);
  private static final int REQUEST_LEADER_ID = tag(2, VARINT);
  private static final int REQUEST_PREV_LOG_ID = tag(3, LEN);
  private static final int REQUEST_ENTRIES = tag(4, LEN);
  private static final int REQUEST_LEADER_COMMIT = tag(5, VARINT);
  // LogId
  private static final int LOG_ID_TERM = tag(1, VARINT);
  private static final int LOG_ID_INDEX = tag(2, VARINT);
  // Entry
  private static final int ENTRY_TERM = tag(1, VARINT);
  private static final int ENTRY_INDEX = tag(2, VARINT);
  private static final int ENTRY_KIND = tag(3, VARINT);
  private static final int ENTRY_PAYLOAD = tag(4, LEN);
  // AppendResponse
  private static final int RESPONSE_TERM = tag(1, VARINT);
  private static final int RESPONSE_SUCCESS = tag(2, VARINT);
  private static final int RESPONSE_MATCH_INDEX = tag(3, VARINT);
  private static final int RESPONSE_CONFLICT_INDEX = tag(4, VARINT);

  /** Every tag by which protobuf sets {@code Frame.body}: its members with wire type LEN. */
  private static final boolean[] BODY_TAG_BY_FIELD = bodyFields();

  /**
   * How much more deeply nested unknown groups this decoder refuses than protobuf: the generated
   * parser counts the messages it is inside (up to 3 here), this one reads them in one stream.
   */
  private static final int NESTING_MARGIN = 3;

  private static final byte[] EMPTY = new byte[0];

  private AppendFrameCodec() {}

  // ------------------------------------------------------------------------------------ encode

  /**
   * Prepares a request frame. The entry list is copied (not the payloads), so the frame stays
   * what it was when encoded.
   *
   * @throws IllegalArgumentException if the frame would exceed 2 GiB
   */
  static EncodedFrame encode(final long correlationId, final AppendRequest request) {
    return new RequestFrame(correlationId, request);
  }

  /** Prepares a response frame. */
  static EncodedFrame encode(final long correlationId, final AppendResponse response) {
    return new ResponseFrame(correlationId, response);
  }

  /** The bytes of an optional (proto3 implicit presence) uint64 field numbered below 16. */
  private static int uint64Size(final long value) {
    return value == 0 ? 0 : 1 + CodedOutputStream.computeUInt64SizeNoTag(value);
  }

  /** The bytes of a length-delimited field numbered below 16, header included. */
  private static long delimitedSize(final long length) {
    return 1 + CodedOutputStream.computeUInt32SizeNoTag((int) length) + length;
  }

  private static int logIdSize(final LogId id) {
    return uint64Size(id.term()) + uint64Size(id.index());
  }

  private static int entrySize(final Entry e) {
    final int code = e.kind().code();
    final int length = e.payload().length;
    return uint64Size(e.term())
        + uint64Size(e.index())
        + (code == 0 ? 0 : 1 + CodedOutputStream.computeEnumSizeNoTag(code))
        + (length == 0 ? 0 : 1 + CodedOutputStream.computeUInt32SizeNoTag(length) + length);
  }

  private static void writeUInt64(final CodedOutputStream out, final int field, final long value)
      throws IOException {
    if (value != 0) {
      out.writeUInt64(field, value);
    }
  }

  private static void writeLogId(final CodedOutputStream out, final int field, final LogId id)
      throws IOException {
    // A set message field is written even when empty: the generated encoder sets it always.
    out.writeTag(field, LEN);
    out.writeUInt32NoTag(logIdSize(id));
    writeUInt64(out, 1, id.term());
    writeUInt64(out, 2, id.index());
  }

  /** A frame written field by field; subclasses know the size up front. */
  private abstract static class HandWrittenFrame implements EncodedFrame {
    private final int size;

    HandWrittenFrame(final long size) {
      if (size > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "frame size=" + size + " exceeds the protobuf limit of " + Integer.MAX_VALUE + " bytes");
      }
      this.size = (int) size;
    }

    abstract void write(CodedOutputStream out) throws IOException;

    abstract String body();

    @Override
    public final int size() {
      return size;
    }

    @Override
    public final void writeTo(final ByteBuffer dst) {
      if (dst.remaining() < size) {
        throw new BufferOverflowException();
      }
      final CodedOutputStream out = CodedOutputStream.newInstance(dst);
      try {
        write(out);
        out.flush();
      } catch (final IOException e) {
        throw new UncheckedIOException("writing frame size=" + size + " failed", e);
      }
    }

    @Override
    public final byte[] toByteArray() {
      final byte[] bytes = new byte[size];
      final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      try {
        write(out);
      } catch (final IOException e) {
        throw new UncheckedIOException("writing frame size=" + size + " failed", e);
      }
      out.checkNoSpaceLeft();
      return bytes;
    }

    @Override
    public final String toString() {
      return "EncodedFrame{size=" + size + ", body=" + body() + "}";
    }
  }

  /**
   * {@code Frame{correlation_id, append_request}}, fields in number order as protobuf writes them.
   */
  private static final class RequestFrame extends HandWrittenFrame {
    private final long correlationId;
    private final long term;
    private final long leaderId;
    private final LogId prevLogId;
    private final Entry[] entries;
    private final long leaderCommit;
    private final int bodySize;

    RequestFrame(final long correlationId, final AppendRequest r) {
      this(correlationId, r, r.entries().toArray(new Entry[0]));
    }

    private RequestFrame(final long correlationId, final AppendRequest r, final Entry[] entries) {
      this(correlationId, r, entries, bodySize(r, entries));
    }

    private RequestFrame(
        final long correlationId, final AppendRequest r, final Entry[] entries, final long bodySize) {
      super(uint64Size(correlationId) + delimitedSize(bodySize));
      this.correlationId = correlationId;
      this.term = r.term();
      this.leaderId = r.leaderId();
      this.prevLogId = r.prevLogId();
      this.entries = entries;
      this.leaderCommit = r.leaderCommit();
      this.bodySize = (int) bodySize;
    }

    private static long bodySize(final AppendRequest r, final Entry[] entries) {
      long size =
          uint64Size(r.term())
              + uint64Size(r.leaderId())
              + delimitedSize(logIdSize(r.prevLogId()))
              + uint64Size(r.leaderCommit());
      for (final Entry e : entries) {
        size += delimitedSize(entrySize(e));
      }
      return size;
    }

    @Override
    void write(final CodedOutputStream out) throws IOException {
      writeUInt64(out, 1, correlationId);
      out.writeTag(12, LEN);
      out.writeUInt32NoTag(bodySize);
      writeUInt64(out, 1, term);
      writeUInt64(out, 2, leaderId);
      writeLogId(out, 3, prevLogId);
      for (final Entry e : entries) {
        out.writeTag(4, LEN);
        out.writeUInt32NoTag(entrySize(e));
        writeUInt64(out, 1, e.term());
        writeUInt64(out, 2, e.index());
        final int code = e.kind().code();
        if (code != 0) {
          out.writeEnum(3, code);
        }
        if (e.payload().length != 0) {
          out.writeByteArray(4, e.payload());
        }
      }
      writeUInt64(out, 5, leaderCommit);
    }

    @Override
    String body() {
      return "APPEND_REQUEST";
    }
  }

  /** {@code Frame{correlation_id, append_response}}. */
  private static final class ResponseFrame extends HandWrittenFrame {
    private final long correlationId;
    private final AppendResponse response;
    private final int bodySize;

    ResponseFrame(final long correlationId, final AppendResponse response) {
      this(correlationId, response, bodySize(response));
    }

    private ResponseFrame(final long correlationId, final AppendResponse response, final int bodySize) {
      super(uint64Size(correlationId) + delimitedSize(bodySize));
      this.correlationId = correlationId;
      this.response = response;
      this.bodySize = bodySize;
    }

    private static int bodySize(final AppendResponse r) {
      return uint64Size(r.term())
          + (r.success() ? 2 : 0)
          + uint64Size(r.matchIndex())
          + uint64Size(r.conflictIndex());
    }

    @Override
    void write(final CodedOutputStream out) throws IOException {
      writeUInt64(out, 1, correlationId);
      out.writeTag(13, LEN);
      out.writeUInt32NoTag(bodySize);
      writeUInt64(out, 1, response.term());
      if (response.success()) {
        out.writeBool(2, true);
      }
      writeUInt64(out, 3, response.matchIndex());
      writeUInt64(out, 4, response.conflictIndex());
    }

    @Override
    String body() {
      return "APPEND_RESPONSE";
    }
  }

  // ------------------------------------------------------------------------------------ decode

  /**
   * Decodes {@code bytes[offset, offset + length)} if it is an append request or response frame
   * this decoder fully understands.
   *
   * @return the frame, or {@code null} when the generated path must decide (see the class doc)
   */
  static WireFrame decode(final byte[] bytes, final int offset, final int length) {
    return decode(CodedInputStream.newInstance(bytes, offset, length));
  }

  /**
   * Decodes the remaining bytes of {@code src} (position unchanged), like {@link #decode(byte[],
   * int, int)}.
   *
   * @return the frame, or {@code null} when the generated path must decide
   */
  static WireFrame decode(final ByteBuffer src) {
    if (src.hasArray()) {
      return decode(src.array(), src.arrayOffset() + src.position(), src.remaining());
    }
    final int n = src.remaining();
    if (n <= MAX_SCRATCH_BYTES) {
      // protobuf 4 copies a direct buffer into a new array before parsing it; copying it into
      // this thread's scratch array instead saves allocating one per frame. Safe to reuse: nothing
      // decoded refers to the input (payloads are copied out).
      byte[] scratch = SCRATCH.get();
      if (scratch.length < n) {
        scratch = new byte[Math.min(MAX_SCRATCH_BYTES, Math.max(n, scratch.length * 2))];
        SCRATCH.set(scratch);
      }
      src.duplicate().get(scratch, 0, n);
      return decode(scratch, 0, n);
    }
    return decode(CodedInputStream.newInstance(src.duplicate()));
  }

  /** The largest direct-buffer frame copied into a thread's scratch array; larger ones are copied anew. */
  private static final int MAX_SCRATCH_BYTES = 4 << 20;

  /** Per decoding thread (a transport's event loop): where direct-buffer frames are copied to. */
  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[64 << 10]);

  private static WireFrame decode(final CodedInputStream in) {
    final int protobufLimit = in.setRecursionLimit(0);
    in.setRecursionLimit(Math.max(0, protobufLimit - NESTING_MARGIN));
    try {
      long correlationId = 0;
      WireFrame.Kind kind = null;
      Object body = null;
      int tag;
      while ((tag = in.readTag()) != 0) {
        if (tag == FRAME_CORRELATION_ID) {
          correlationId = in.readUInt64();
        } else if (tag == FRAME_APPEND_REQUEST || tag == FRAME_APPEND_RESPONSE) {
          if (body != null) {
            return null; // protobuf merges a repeated body: leave it to the generated path
          }
          final int length = in.readRawVarint32();
          final int limit = in.pushLimit(length);
          if (tag == FRAME_APPEND_REQUEST) {
            body = readAppendRequest(in);
            kind = WireFrame.Kind.REQUEST;
          } else {
            body = readAppendResponse(in);
            kind = WireFrame.Kind.RESPONSE;
          }
          if (body == null) {
            return null;
          }
          in.popLimit(limit);
        } else if (tag == FRAME_GROUP_ID) {
          in.readUInt64(); // read, not used: as in the generated path
        } else if (isBodyTag(tag)) {
          return null; // another body: not ours, or it replaces ours
        } else {
          skip(in, tag);
        }
      }
      if (kind == WireFrame.Kind.REQUEST) {
        return new WireFrame.Request(correlationId, (AppendRequest) body);
      }
      if (kind == WireFrame.Kind.RESPONSE) {
        return new WireFrame.Response(correlationId, (AppendResponse) body);
      }
      return null;
    } catch (final IOException | IllegalArgumentException e) {
      // Malformed bytes or a broken raft-api rule: the generated path reports it.
      return null;
    }
  }

  private static boolean isBodyTag(final int tag) {
    final int field = tag >>> 3;
    return (tag & 7) == LEN && field < BODY_TAG_BY_FIELD.length && BODY_TAG_BY_FIELD[field];
  }

  /**
   * Reads an append request up to the current limit, or returns {@code null} if its layout is
   * not the canonical one (an entry before {@code prev_log_id}).
   *
   * @throws IllegalArgumentException if it breaks a raft-api rule
   */
  private static AppendRequest readAppendRequest(final CodedInputStream in) throws IOException {
    long term = 0;
    long leaderId = 0;
    long prevTerm = 0;
    long prevIndex = 0;
    long leaderCommit = 0;
    LogId prev = null; // fixed by the first entry
    ArrayList<Entry> entries = null;
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag == REQUEST_ENTRIES) {
        final int length = in.readRawVarint32();
        final int left = in.getBytesUntilLimit();
        final int limit = in.pushLimit(length); // refuses a negative or overlong length
        if (entries == null) {
          prev = LogId.of(prevTerm, prevIndex);
          // Sized by the first entry, so that the list never grows when the entries are of one
          // size (a batch of similar commands); a guess only, and never more than one slot per
          // two bytes left (the smallest entry on the wire).
          final int perEntry = 1 + CodedOutputStream.computeUInt32SizeNoTag(length) + length;
          entries = new ArrayList<>(1 + (left - length) / perEntry);
        }
        entries.add(readEntry(in, entries.size(), prev));
        in.popLimit(limit);
      } else if (tag == REQUEST_TERM) {
        term = in.readUInt64();
      } else if (tag == REQUEST_LEADER_ID) {
        leaderId = in.readUInt64();
      } else if (tag == REQUEST_PREV_LOG_ID) {
        if (entries != null) {
          return null; // merging into a prev_log_id that entries were already checked against
        }
        final int limit = in.pushLimit(in.readRawVarint32());
        // Parsed into the values so far: a repeated message field merges in protobuf.
        while ((tag = in.readTag()) != 0) {
          if (tag == LOG_ID_TERM) {
            prevTerm = in.readUInt64();
          } else if (tag == LOG_ID_INDEX) {
            prevIndex = in.readUInt64();
          } else {
            skip(in, tag);
          }
        }
        in.popLimit(limit);
      } else if (tag == REQUEST_LEADER_COMMIT) {
        leaderCommit = in.readUInt64();
      } else {
        skip(in, tag);
      }
    }
    if (entries == null) {
      prev = LogId.of(prevTerm, prevIndex);
    }
    return new AppendRequest(
        WireCodec.nonNegative("term", term),
        leaderId,
        prev,
        entries == null ? new ArrayList<>(0) : entries,
        WireCodec.nonNegative("leaderCommit", leaderCommit));
  }

  private static Entry readEntry(final CodedInputStream in, final int i, final LogId prev)
      throws IOException {
    long term = 0;
    long index = 0;
    int kind = 0;
    byte[] payload = EMPTY;
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag == ENTRY_TERM) {
        term = in.readUInt64();
      } else if (tag == ENTRY_INDEX) {
        index = in.readUInt64();
      } else if (tag == ENTRY_KIND) {
        kind = in.readEnum();
      } else if (tag == ENTRY_PAYLOAD) {
        payload = in.readByteArray(); // the one copy: input -> the entry's own array
      } else {
        skip(in, tag);
      }
    }
    return WireCodec.entry(i, prev, term, index, kind, payload.length == 0 ? EMPTY : payload);
  }

  private static AppendResponse readAppendResponse(final CodedInputStream in) throws IOException {
    long term = 0;
    boolean success = false;
    long matchIndex = 0;
    long conflictIndex = 0;
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag == RESPONSE_TERM) {
        term = in.readUInt64();
      } else if (tag == RESPONSE_SUCCESS) {
        success = in.readBool();
      } else if (tag == RESPONSE_MATCH_INDEX) {
        matchIndex = in.readUInt64();
      } else if (tag == RESPONSE_CONFLICT_INDEX) {
        conflictIndex = in.readUInt64();
      } else {
        skip(in, tag);
      }
    }
    return new AppendResponse(
        WireCodec.nonNegative("term", term),
        success,
        WireCodec.nonNegative("matchIndex", matchIndex),
        WireCodec.nonNegative("conflictIndex", conflictIndex));
  }

  private static int tag(final int field, final int wireType) {
    return field << 3 | wireType;
  }

  private static boolean[] bodyFields() {
    int max = 0;
    for (final FieldDescriptor f : Frame.getDescriptor().getOneofs().get(0).getFields()) {
      max = Math.max(max, f.getNumber());
    }
    final boolean[] body = new boolean[max + 1];
    for (final FieldDescriptor f : Frame.getDescriptor().getOneofs().get(0).getFields()) {
      body[f.getNumber()] = true;
    }
    return body;
  }

  /** Skips an unknown field; an end-group tag where no group is open is malformed. */
  private static void skip(final CodedInputStream in, final int tag) throws IOException {
    if (!in.skipField(tag)) {
      in.checkLastTagWas(0); // throws: the last tag was an end-group tag
    }
  }
}
