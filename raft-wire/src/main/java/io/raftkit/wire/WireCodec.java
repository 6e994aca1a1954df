package io.raftkit.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.InstallSnapshotRequest;
import io.raftkit.api.message.InstallSnapshotResponse;
import io.raftkit.api.message.ReadIndexRequest;
import io.raftkit.api.message.ReadIndexResponse;
import io.raftkit.api.message.TimeoutNowRequest;
import io.raftkit.api.message.TimeoutNowResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.wire.proto.Frame;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Encodes {@link WireFrame}s to bytes and decodes them back, in the protobuf format of {@code
 * raftkit/wire/v1/raftkit.proto}.
 *
 * <p><b>Compatibility.</b> Decoding ignores fields it does not know, so a newer peer may add
 * fields; a frame whose body is an RPC this version cannot map to raft-api types decodes to
 * {@link WireFrame.Unsupported}. Malformed bytes, and messages that break a raft-api rule, fail
 * with {@link WireFormatException}.
 *
 * <p><b>Two codecs, one format.</b> Append requests and responses, the frames of log replication,
 * go through {@link AppendFrameCodec}: a hand-written codec of the same bytes that skips the
 * generated builders and messages (they cost about a fifth of a cluster's CPU in profiles). Every
 * other frame goes through the generated classes, which stay the reference: the hand-written
 * decoder hands every frame it does not fully understand (malformed, invalid or unusual) back to
 * the generated path, so errors and edge cases behave as they always did. {@code
 * -Draftkit.wire.noFastAppend=true} turns the hand-written codec off.
 *
 * <p><b>Copies.</b> Encoding does not copy entry payloads (they are immutable by {@link Entry}'s
 * contract). Decoding copies each payload out of the input, so the input buffer may be reused or
 * released as soon as {@link #decode} returns: nothing decoded refers to it.
 *
 * <p>Stateless and thread-safe.
 */
public final class WireCodec {

  /**
   * The protocol version this codec speaks, carried in the handshake. Peers of another version
   * are refused; it changes only for changes an older node could not ignore.
   */
  public static final int PROTOCOL_VERSION = 1;

  /**
   * Whether append requests and responses go through {@link AppendFrameCodec}, the hand-written
   * codec of the same bytes. {@code -Draftkit.wire.noFastAppend=true} sends them through the
   * generated classes instead, to compare (raft-bench's {@code WireCodecBenchmark} does) or to
   * rule the hand-written codec out.
   */
  static final boolean FAST_APPEND = !Boolean.getBoolean("raftkit.wire.noFastAppend");

  private static final byte[] EMPTY = new byte[0];

  private WireCodec() {}

  /**
   * Prepares a frame for writing.
   *
   * @param frame the frame; not {@link WireFrame.Unsupported}
   * @return the encoded frame, which knows its size
   * @throws IllegalArgumentException if the frame is {@link WireFrame.Unsupported}
   */
  public static EncodedFrame encode(final WireFrame frame) {
    Objects.requireNonNull(frame, "frame");
    if (FAST_APPEND) {
      if (frame.kind() == WireFrame.Kind.REQUEST
          && ((WireFrame.Request) frame).request() instanceof AppendRequest append) {
        return AppendFrameCodec.encode(frame.correlationId(), append);
      }
      if (frame.kind() == WireFrame.Kind.RESPONSE
          && ((WireFrame.Response) frame).response() instanceof AppendResponse append) {
        return AppendFrameCodec.encode(frame.correlationId(), append);
      }
    }
    return encodeGenerated(frame);
  }

  /** Encodes through the generated classes, whatever the frame: the reference encoder. */
  static EncodedFrame encodeGenerated(final WireFrame frame) {
    Objects.requireNonNull(frame, "frame");
    return new ProtoFrame(toProto(frame));
  }

  /**
   * Encodes a frame into a new array; a shortcut for {@code encode(frame).toByteArray()}.
   *
   * @param frame the frame; not {@link WireFrame.Unsupported}
   * @return the bytes
   */
  public static byte[] encodeToArray(final WireFrame frame) {
    return encode(frame).toByteArray();
  }

  /**
   * Decodes one frame from all the remaining bytes of {@code src}, which must hold exactly one
   * frame. The buffer's position is left unchanged.
   *
   * @param src a heap or direct buffer
   * @return the frame
   * @throws WireFormatException if the bytes are not a valid frame
   */
  public static WireFrame decode(final ByteBuffer src) throws WireFormatException {
    if (FAST_APPEND) {
      final WireFrame append = AppendFrameCodec.decode(src);
      if (append != null) {
        return append;
      }
    }
    final int length = src.remaining();
    final Frame proto;
    try {
      proto = Frame.parseFrom(src.duplicate());
    } catch (final InvalidProtocolBufferException e) {
      throw new WireFormatException("malformed frame length=" + length + ": " + e.getMessage(), e);
    }
    return fromProto(proto, length);
  }

  /**
   * Decodes one frame from {@code bytes[offset, offset + length)}.
   *
   * @param bytes the array
   * @param offset where the frame starts
   * @param length how many bytes it has
   * @return the frame
   * @throws WireFormatException if the bytes are not a valid frame
   */
  public static WireFrame decode(final byte[] bytes, final int offset, final int length)
      throws WireFormatException {
    Objects.checkFromIndexSize(offset, length, bytes.length);
    if (FAST_APPEND) {
      final WireFrame append = AppendFrameCodec.decode(bytes, offset, length);
      if (append != null) {
        return append;
      }
    }
    return decodeGenerated(bytes, offset, length);
  }

  /** Decodes through the generated classes, whatever the frame: the reference decoder. */
  static WireFrame decodeGenerated(final byte[] bytes, final int offset, final int length)
      throws WireFormatException {
    Objects.checkFromIndexSize(offset, length, bytes.length);
    final Frame proto;
    try {
      proto = Frame.parseFrom(ByteBuffer.wrap(bytes, offset, length));
    } catch (final InvalidProtocolBufferException e) {
      throw new WireFormatException("malformed frame length=" + length + ": " + e.getMessage(), e);
    }
    return fromProto(proto, length);
  }

  /**
   * Decodes one frame from a whole array.
   *
   * @param bytes the frame
   * @return the frame
   * @throws WireFormatException if the bytes are not a valid frame
   */
  public static WireFrame decode(final byte[] bytes) throws WireFormatException {
    return decode(bytes, 0, bytes.length);
  }

  // ------------------------------------------------------------------------------------ encode

  private static Frame toProto(final WireFrame frame) {
    final Frame.Builder b = Frame.newBuilder().setCorrelationId(frame.correlationId());
    switch (frame.kind()) {
      case HELLO -> {
        final WireFrame.Hello h = (WireFrame.Hello) frame;
        b.setHello(
            io.raftkit.wire.proto.Hello.newBuilder()
                .setProtocolVersion(h.protocolVersion())
                .setClusterId(h.clusterId())
                .setNodeId(h.nodeId())
                .setGroupId(h.groupId())
                .setTargetNodeId(h.targetNodeId()));
      }
      case HELLO_REPLY -> {
        final WireFrame.HelloReply r = (WireFrame.HelloReply) frame;
        b.setHelloReply(
            io.raftkit.wire.proto.HelloReply.newBuilder()
                .setAccepted(r.accepted())
                .setProtocolVersion(r.protocolVersion())
                .setClusterId(r.clusterId())
                .setNodeId(r.nodeId())
                .setGroupId(r.groupId())
                .setReason(r.reason()));
      }
      case FAILURE ->
          b.setFailure(
              io.raftkit.wire.proto.Failure.newBuilder().setMessage(((WireFrame.Failure) frame).message()));
      case REQUEST -> encodeRequest(b, ((WireFrame.Request) frame).request());
      case RESPONSE -> encodeResponse(b, ((WireFrame.Response) frame).response());
      case UNSUPPORTED ->
          throw new IllegalArgumentException("an Unsupported frame cannot be encoded: frame=" + frame);
    }
    return b.build();
  }

  private static void encodeRequest(final Frame.Builder b, final RaftRequest request) {
    switch (request.kind()) {
      case VOTE -> {
        final VoteRequest v = (VoteRequest) request;
        b.setVoteRequest(
            io.raftkit.wire.proto.VoteRequest.newBuilder()
                .setTerm(v.term())
                .setCandidateId(v.candidateId())
                .setLastLogId(logId(v.lastLogId()))
                .setPreVote(v.preVote())
                .setLeadershipTransfer(v.leadershipTransfer()));
      }
      case TIMEOUT_NOW -> {
        final TimeoutNowRequest t = (TimeoutNowRequest) request;
        b.setTimeoutNowRequest(
            io.raftkit.wire.proto.TimeoutNowRequest.newBuilder().setTerm(t.term()).setLeaderId(t.leaderId()));
      }
      case INSTALL_SNAPSHOT -> {
        final InstallSnapshotRequest r = (InstallSnapshotRequest) request;
        final SnapshotMeta meta = r.meta();
        b.setInstallSnapshotChunk(
            io.raftkit.wire.proto.InstallSnapshotChunk.newBuilder()
                .setTerm(r.term())
                .setLeaderId(r.leaderId())
                .setLastIncluded(logId(meta.lastLogId()))
                .setSnapshotId(meta.snapshotId())
                .setOffset(r.offset())
                // No copy: the request owns its data array (its contract).
                .setData(UnsafeByteOperations.unsafeWrap(r.data()))
                .setDone(r.done())
                .setMembership(meta.membership().isEmpty() ? ByteString.EMPTY
                    : UnsafeByteOperations.unsafeWrap(meta.membership().membership().encode()))
                .setMembershipLogId(logId(meta.membership().logId())));
      }
      case READ_INDEX -> {
        final ReadIndexRequest r = (ReadIndexRequest) request;
        b.setReadIndexRequest(
            io.raftkit.wire.proto.ReadIndexRequest.newBuilder().setTerm(r.term()).setFromId(r.fromId()));
      }
      case APPEND -> {
        final AppendRequest a = (AppendRequest) request;
        final io.raftkit.wire.proto.AppendRequest.Builder ab =
            io.raftkit.wire.proto.AppendRequest.newBuilder()
                .setTerm(a.term())
                .setLeaderId(a.leaderId())
                .setPrevLogId(logId(a.prevLogId()))
                .setLeaderCommit(a.leaderCommit());
        for (final Entry e : a.entries()) {
          final io.raftkit.wire.proto.Entry.Builder eb =
              io.raftkit.wire.proto.Entry.newBuilder()
                  .setTerm(e.term())
                  .setIndex(e.index())
                  .setKindValue(e.kind().code());
          if (e.payload().length > 0) {
            // No copy: an Entry's payload never changes once constructed (Entry's contract).
            eb.setPayload(UnsafeByteOperations.unsafeWrap(e.payload()));
          }
          ab.addEntries(eb);
        }
        b.setAppendRequest(ab);
      }
    }
  }

  private static void encodeResponse(final Frame.Builder b, final RaftResponse response) {
    switch (response.kind()) {
      case VOTE -> {
        final VoteResponse v = (VoteResponse) response;
        b.setVoteResponse(
            io.raftkit.wire.proto.VoteResponse.newBuilder()
                .setTerm(v.term())
                .setGranted(v.granted())
                .setPreVote(v.preVote()));
      }
      case APPEND -> {
        final AppendResponse a = (AppendResponse) response;
        b.setAppendResponse(
            io.raftkit.wire.proto.AppendResponse.newBuilder()
                .setTerm(a.term())
                .setSuccess(a.success())
                .setMatchIndex(a.matchIndex())
                .setConflictIndex(a.conflictIndex()));
      }
      case TIMEOUT_NOW -> {
        final TimeoutNowResponse t = (TimeoutNowResponse) response;
        b.setTimeoutNowResponse(
            io.raftkit.wire.proto.TimeoutNowResponse.newBuilder().setTerm(t.term()).setAccepted(t.accepted()));
      }
      case INSTALL_SNAPSHOT -> {
        final InstallSnapshotResponse r = (InstallSnapshotResponse) response;
        b.setInstallSnapshotResponse(
            io.raftkit.wire.proto.InstallSnapshotResponse.newBuilder()
                .setTerm(r.term())
                .setNextOffset(r.nextOffset())
                .setDone(r.done()));
      }
      case READ_INDEX -> {
        final ReadIndexResponse r = (ReadIndexResponse) response;
        b.setReadIndexResponse(
            io.raftkit.wire.proto.ReadIndexResponse.newBuilder()
                .setTerm(r.term())
                .setSuccess(r.success())
                .setReadIndex(r.readIndex())
                .setLeaderHint(r.leaderHint()));
      }
    }
  }

  private static io.raftkit.wire.proto.LogId logId(final LogId id) {
    return io.raftkit.wire.proto.LogId.newBuilder().setTerm(id.term()).setIndex(id.index()).build();
  }

  // ------------------------------------------------------------------------------------ decode

  private static WireFrame fromProto(final Frame f, final int length) throws WireFormatException {
    final long correlationId = f.getCorrelationId();
    try {
      switch (f.getBodyCase()) {
        case HELLO -> {
          final io.raftkit.wire.proto.Hello h = f.getHello();
          return new WireFrame.Hello(
              h.getProtocolVersion(), h.getClusterId(), h.getNodeId(), h.getGroupId(), h.getTargetNodeId());
        }
        case HELLO_REPLY -> {
          final io.raftkit.wire.proto.HelloReply r = f.getHelloReply();
          return new WireFrame.HelloReply(
              r.getAccepted(), r.getProtocolVersion(), r.getClusterId(), r.getNodeId(), r.getGroupId(),
              r.getReason());
        }
        case FAILURE -> {
          return new WireFrame.Failure(correlationId, f.getFailure().getMessage());
        }
        case VOTE_REQUEST -> {
          final io.raftkit.wire.proto.VoteRequest v = f.getVoteRequest();
          return new WireFrame.Request(
              correlationId,
              new VoteRequest(nonNegative("term", v.getTerm()), v.getCandidateId(), logId(v.getLastLogId()),
                  v.getPreVote(), v.getLeadershipTransfer()));
        }
        case VOTE_RESPONSE -> {
          final io.raftkit.wire.proto.VoteResponse v = f.getVoteResponse();
          return new WireFrame.Response(
              correlationId, new VoteResponse(nonNegative("term", v.getTerm()), v.getGranted(), v.getPreVote()));
        }
        case APPEND_REQUEST -> {
          return new WireFrame.Request(correlationId, appendRequest(f.getAppendRequest()));
        }
        case APPEND_RESPONSE -> {
          final io.raftkit.wire.proto.AppendResponse a = f.getAppendResponse();
          return new WireFrame.Response(
              correlationId,
              new AppendResponse(
                  nonNegative("term", a.getTerm()),
                  a.getSuccess(),
                  nonNegative("matchIndex", a.getMatchIndex()),
                  nonNegative("conflictIndex", a.getConflictIndex())));
        }
        case TIMEOUT_NOW_REQUEST -> {
          final io.raftkit.wire.proto.TimeoutNowRequest t = f.getTimeoutNowRequest();
          return new WireFrame.Request(correlationId, new TimeoutNowRequest(nonNegative("term", t.getTerm()), t.getLeaderId()));
        }
        case TIMEOUT_NOW_RESPONSE -> {
          final io.raftkit.wire.proto.TimeoutNowResponse t = f.getTimeoutNowResponse();
          return new WireFrame.Response(correlationId, new TimeoutNowResponse(nonNegative("term", t.getTerm()), t.getAccepted()));
        }
        case INSTALL_SNAPSHOT_CHUNK -> {
          final io.raftkit.wire.proto.InstallSnapshotChunk c = f.getInstallSnapshotChunk();
          final LogId membershipLogId = logId(c.getMembershipLogId());
          final StoredMembership membership = c.getMembership().isEmpty()
              ? StoredMembership.EMPTY
              : new StoredMembership(membershipLogId, Membership.decode(c.getMembership().toByteArray()));
          final SnapshotMeta meta = new SnapshotMeta(logId(c.getLastIncluded()), membership, c.getSnapshotId());
          return new WireFrame.Request(correlationId, new InstallSnapshotRequest(nonNegative("term", c.getTerm()),
              c.getLeaderId(), meta, nonNegative("offset", c.getOffset()), c.getData().toByteArray(), c.getDone()));
        }
        case INSTALL_SNAPSHOT_RESPONSE -> {
          final io.raftkit.wire.proto.InstallSnapshotResponse r = f.getInstallSnapshotResponse();
          return new WireFrame.Response(correlationId, new InstallSnapshotResponse(
              nonNegative("term", r.getTerm()), nonNegative("nextOffset", r.getNextOffset()), r.getDone()));
        }
        case READ_INDEX_REQUEST -> {
          final io.raftkit.wire.proto.ReadIndexRequest r = f.getReadIndexRequest();
          return new WireFrame.Request(correlationId, new ReadIndexRequest(nonNegative("term", r.getTerm()), r.getFromId()));
        }
        case READ_INDEX_RESPONSE -> {
          final io.raftkit.wire.proto.ReadIndexResponse r = f.getReadIndexResponse();
          return new WireFrame.Response(correlationId, new ReadIndexResponse(nonNegative("term", r.getTerm()),
              r.getSuccess(), nonNegative("readIndex", r.getReadIndex()), nonNegative("leaderHint", r.getLeaderHint())));
        }
        case BODY_NOT_SET -> {
          // A newer peer's body lands among the unknown fields; report its number.
          int number = 0;
          for (final int n : f.getUnknownFields().asMap().keySet()) {
            if (n > 2) {
              number = n;
              break;
            }
          }
          return new WireFrame.Unsupported(correlationId, number);
        }
      }
      throw new WireFormatException(
          "frame length=" + length + " has unknown bodyCase=" + f.getBodyCase() + " correlationId=" + correlationId,
          null);
    } catch (final IllegalArgumentException | NullPointerException e) {
      throw new WireFormatException(
          "invalid " + f.getBodyCase() + " frame length=" + length + " correlationId=" + correlationId + ": "
              + e.getMessage(),
          e);
    }
  }

  private static AppendRequest appendRequest(final io.raftkit.wire.proto.AppendRequest a) {
    final LogId prev = logId(a.getPrevLogId());
    final int count = a.getEntriesCount();
    final List<Entry> entries = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      final io.raftkit.wire.proto.Entry e = a.getEntries(i);
      final byte[] payload = e.getPayload().isEmpty() ? EMPTY : e.getPayload().toByteArray();
      entries.add(entry(i, prev, e.getTerm(), e.getIndex(), e.getKindValue(), payload));
    }
    return new AppendRequest(
        nonNegative("term", a.getTerm()),
        a.getLeaderId(),
        prev,
        entries,
        nonNegative("leaderCommit", a.getLeaderCommit()));
  }

  /**
   * The {@code i}-th entry of an append request after {@code prev}, checked as both decoders
   * check it: its index follows on, its kind is known, its log id and payload are valid.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  static Entry entry(
      final int i, final LogId prev, final long term, final long index, final int kindCode, final byte[] payload) {
    final long expectedIndex = prev.index() + 1 + i;
    if (index != expectedIndex) {
      throw new IllegalArgumentException(
          "entry i=" + i + " has index=" + Long.toUnsignedString(index) + " but expected index="
              + expectedIndex + " (entries must follow prevLogId=" + prev + " consecutively)");
    }
    final EntryKind kind = EntryKind.fromCode(kindCode);
    return new Entry(LogId.of(term, index), kind, payload);
  }

  private static LogId logId(final io.raftkit.wire.proto.LogId id) {
    return LogId.of(id.getTerm(), id.getIndex());
  }

  static long nonNegative(final String name, final long value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + "=" + Long.toUnsignedString(value) + " exceeds " + Long.MAX_VALUE);
    }
    return value;
  }

  /** A built protobuf frame; protobuf memoizes its serialized size. */
  private static final class ProtoFrame implements EncodedFrame {
    private final Frame frame;
    private final int size;

    ProtoFrame(final Frame frame) {
      this.frame = frame;
      this.size = frame.getSerializedSize();
    }

    @Override
    public int size() {
      return size;
    }

    @Override
    public void writeTo(final ByteBuffer dst) {
      if (dst.remaining() < size) {
        throw new java.nio.BufferOverflowException();
      }
      final CodedOutputStream out = CodedOutputStream.newInstance(dst);
      try {
        frame.writeTo(out);
        out.flush();
      } catch (final IOException e) {
        throw new UncheckedIOException("writing frame size=" + size + " failed", e);
      }
    }

    @Override
    public byte[] toByteArray() {
      return frame.toByteArray();
    }

    @Override
    public String toString() {
      return "EncodedFrame{size=" + size + ", body=" + frame.getBodyCase() + "}";
    }
  }
}
