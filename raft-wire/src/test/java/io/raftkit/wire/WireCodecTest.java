package io.raftkit.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.wire.proto.Frame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class WireCodecTest {

  static Stream<WireFrame> frames() {
    final List<Entry> entries = new ArrayList<>();
    entries.add(Entry.blank(LogId.of(3, 11)));
    entries.add(Entry.normal(LogId.of(3, 12), new byte[] {1, 2, 3}));
    entries.add(Entry.membership(LogId.of(4, 13), Membership.ofVoters(Map.of(1L, "a:1", 2L, "b:2"))));
    entries.add(Entry.normal(LogId.of(4, 14), new byte[0]));
    return Stream.of(
        new WireFrame.Hello(WireCodec.PROTOCOL_VERSION, "cluster-a", 1, 0, 2),
        new WireFrame.Hello(7, "", Long.MAX_VALUE, 5, 0),
        new WireFrame.HelloReply(true, 1, "cluster-a", 2, 0, ""),
        new WireFrame.HelloReply(false, 1, "cluster-b", 2, 0, "clusterId=cluster-a expected=cluster-b"),
        new WireFrame.Failure(42, "handler failed: reason=x"),
        new WireFrame.Request(1, new VoteRequest(5, 1, LogId.of(4, 10), false)),
        new WireFrame.Request(Long.MAX_VALUE, new VoteRequest(6, 2, LogId.ZERO, true)),
        new WireFrame.Request(-1L, new VoteRequest(Long.MAX_VALUE, Long.MAX_VALUE, LogId.of(Long.MAX_VALUE, 1), true)),
        new WireFrame.Response(3, new VoteResponse(5, true, false)),
        new WireFrame.Response(4, new VoteResponse(0, false, true)),
        new WireFrame.Request(5, new AppendRequest(4, 1, LogId.of(3, 10), entries, 9)),
        new WireFrame.Request(6, new AppendRequest(4, 1, LogId.ZERO, List.of(), 0)),
        new WireFrame.Response(7, AppendResponse.success(4, 14)),
        new WireFrame.Response(8, AppendResponse.conflict(4, 11)));
  }

  @ParameterizedTest
  @MethodSource("frames")
  void shouldRoundTripThroughArray(final WireFrame frame) throws IOException {
    final byte[] bytes = WireCodec.encodeToArray(frame);

    assertThat(WireCodec.decode(bytes)).isEqualTo(frame);
    assertThat(WireCodec.encode(frame).size()).isEqualTo(bytes.length);
  }

  @ParameterizedTest
  @MethodSource("frames")
  void shouldRoundTripThroughDirectBufferAtOffset(final WireFrame frame) throws IOException {
    final EncodedFrame encoded = WireCodec.encode(frame);
    final ByteBuffer buffer = ByteBuffer.allocateDirect(encoded.size() + 7);
    buffer.position(4);

    encoded.writeTo(buffer);

    assertThat(buffer.position()).isEqualTo(4 + encoded.size());
    buffer.flip().position(4);
    assertThat(WireCodec.decode(buffer)).isEqualTo(frame);
    assertThat(buffer.position()).as("decode leaves the position alone").isEqualTo(4);
  }

  @Test
  void shouldRoundTripThroughHeapBufferAndSubArray() throws IOException {
    final WireFrame frame = new WireFrame.Response(9, AppendResponse.success(2, 3));
    final EncodedFrame encoded = WireCodec.encode(frame);
    final byte[] array = new byte[encoded.size() + 10];
    final ByteBuffer heap = ByteBuffer.wrap(array, 3, encoded.size());

    encoded.writeTo(heap);

    assertThat(WireCodec.decode(array, 3, encoded.size())).isEqualTo(frame);
  }

  @Test
  void shouldRefuseBufferWithTooLittleRoom() {
    final EncodedFrame encoded = WireCodec.encode(new WireFrame.Failure(1, "x"));

    assertThatThrownBy(() -> encoded.writeTo(ByteBuffer.allocate(encoded.size() - 1)))
        .isInstanceOf(BufferOverflowException.class);
  }

  @Test
  void shouldCarryLargePayloadWithoutLoss() throws IOException {
    final byte[] payload = new byte[16 << 20];
    new java.util.Random(7).nextBytes(payload);
    final WireFrame frame =
        new WireFrame.Request(1, new AppendRequest(1, 1, LogId.ZERO, List.of(Entry.normal(LogId.of(1, 1), payload)), 0));

    final WireFrame decoded = WireCodec.decode(WireCodec.encodeToArray(frame));

    assertThat(decoded).isEqualTo(frame);
  }

  @Test
  void shouldNotShareDecodedPayloadWithInput() throws IOException {
    final WireFrame frame =
        new WireFrame.Request(
            1, new AppendRequest(1, 1, LogId.ZERO, List.of(Entry.normal(LogId.of(1, 1), new byte[] {9, 9, 9})), 0));
    final byte[] bytes = WireCodec.encodeToArray(frame);

    final WireFrame decoded = WireCodec.decode(bytes);
    java.util.Arrays.fill(bytes, (byte) 0);

    assertThat(decoded).isEqualTo(frame);
  }

  @Test
  void shouldIgnoreUnknownFieldsOfANewerPeer() throws IOException {
    final WireFrame frame =
        new WireFrame.Request(
            11, new AppendRequest(2, 1, LogId.of(1, 1), List.of(Entry.normal(LogId.of(2, 2), new byte[] {4})), 1));
    final Frame proto = Frame.parseFrom(WireCodec.encodeToArray(frame));
    // A newer peer adds a field to the frame, to the append request and to an entry.
    final Frame newer =
        proto.toBuilder()
            .setUnknownFields(unknown(77, 12345))
            .setAppendRequest(
                proto.getAppendRequest().toBuilder()
                    .setUnknownFields(unknown(40, 1))
                    .setEntries(0, proto.getAppendRequest().getEntries(0).toBuilder().setUnknownFields(unknown(9, 2))))
            .build();

    assertThat(WireCodec.decode(newer.toByteArray())).isEqualTo(frame);
  }

  @Test
  void shouldDecodeFutureBodyAsUnsupportedWithItsNumber() throws IOException {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeUInt64(1, 99); // correlation id
    out.writeBytes(27, ByteString.copyFromUtf8("an rpc from the future"));
    out.flush();

    assertThat(WireCodec.decode(bytes.toByteArray())).isEqualTo(new WireFrame.Unsupported(99, 27));
  }

  @Test
  void shouldRoundTripTimeoutNowAndTheTransferFlagOfAVote() throws IOException {
    final WireFrame request = new WireFrame.Request(5, new io.raftkit.api.message.TimeoutNowRequest(3, 1));
    final WireFrame response = new WireFrame.Response(5, new io.raftkit.api.message.TimeoutNowResponse(3, true));
    final WireFrame transferVote = new WireFrame.Request(6, new VoteRequest(4, 2, LogId.of(3, 9), false, true));

    assertThat(WireCodec.decode(WireCodec.encodeToArray(request))).isEqualTo(request);
    assertThat(WireCodec.decode(WireCodec.encodeToArray(response))).isEqualTo(response);
    assertThat(WireCodec.decode(WireCodec.encodeToArray(transferVote))).isEqualTo(transferVote);
  }

  @Test
  void shouldRoundTripSnapshotChunksAndReadIndex() throws IOException {
    final io.raftkit.api.SnapshotMeta meta = new io.raftkit.api.SnapshotMeta(LogId.of(3, 900),
        new io.raftkit.api.StoredMembership(LogId.of(2, 17),
            io.raftkit.api.Membership.ofVoters(java.util.Map.of(1L, "a:1", 2L, "b:2", 3L, "c:3"))),
        "3-900-1");
    final byte[] data = new byte[70_000];
    new java.util.Random(3).nextBytes(data);
    final List<WireFrame> frames = List.of(
        new WireFrame.Request(7, new io.raftkit.api.message.InstallSnapshotRequest(3, 1, meta, 65_536, data, true)),
        new WireFrame.Request(8, new io.raftkit.api.message.InstallSnapshotRequest(3, 1, meta, 0, new byte[0], false)),
        new WireFrame.Response(7, new io.raftkit.api.message.InstallSnapshotResponse(3, 135_536, true)),
        new WireFrame.Request(9, new io.raftkit.api.message.ReadIndexRequest(4, 2)),
        new WireFrame.Response(9, new io.raftkit.api.message.ReadIndexResponse(4, true, 901, 0)),
        new WireFrame.Response(9, new io.raftkit.api.message.ReadIndexResponse(5, false, 0, 3)));

    for (final WireFrame frame : frames) {
      assertThat(WireCodec.decode(WireCodec.encodeToArray(frame))).isEqualTo(frame);
    }
  }

  @Test
  void shouldRefuseASnapshotChunkWithoutItsSnapshotId() {
    final Frame chunk =
        Frame.newBuilder()
            .setCorrelationId(6)
            .setInstallSnapshotChunk(
                io.raftkit.wire.proto.InstallSnapshotChunk.newBuilder().setLeaderId(1).setData(ByteString.copyFromUtf8("abc")))
            .build();

    assertThatThrownBy(() -> WireCodec.decode(chunk.toByteArray()))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("INSTALL_SNAPSHOT_CHUNK")
        .hasMessageContaining("snapshotId");
  }

  @Test
  void shouldLetProtobufReflectOnGeneratedClassesForToString() throws IOException {
    final Frame proto =
        Frame.parseFrom(WireCodec.encodeToArray(new WireFrame.Request(12, new VoteRequest(5, 1, LogId.of(4, 10), true))));

    assertThat(proto.toString()).contains("correlation_id: 12").contains("pre_vote: true");
  }

  @Test
  void shouldRefuseToEncodeUnsupported() {
    assertThatThrownBy(() -> WireCodec.encode(new WireFrame.Unsupported(1, 30)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Unsupported");
  }

  @Test
  void shouldFailClearlyOnTruncatedFrame() {
    final byte[] bytes =
        WireCodec.encodeToArray(new WireFrame.Request(1, new VoteRequest(5, 1, LogId.of(4, 10), false)));
    final byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 2);

    assertThatThrownBy(() -> WireCodec.decode(truncated))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("malformed frame length=" + truncated.length);
  }

  @Test
  void shouldFailClearlyOnInvalidWireType() {
    // Field 1 with wire type 7, which does not exist.
    assertThatThrownBy(() -> WireCodec.decode(new byte[] {0x0f, 0x01}))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("malformed frame length=2");
  }

  @Test
  void shouldRefuseEntriesThatDoNotFollowPrevLogId() throws IOException {
    final Frame proto =
        Frame.newBuilder()
            .setCorrelationId(3)
            .setAppendRequest(
                io.raftkit.wire.proto.AppendRequest.newBuilder()
                    .setTerm(2)
                    .setLeaderId(1)
                    .setPrevLogId(io.raftkit.wire.proto.LogId.newBuilder().setTerm(1).setIndex(5))
                    .addEntries(io.raftkit.wire.proto.Entry.newBuilder().setTerm(2).setIndex(6))
                    .addEntries(io.raftkit.wire.proto.Entry.newBuilder().setTerm(2).setIndex(8)))
            .build();

    assertThatThrownBy(() -> WireCodec.decode(proto.toByteArray()))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("invalid APPEND_REQUEST")
        .hasMessageContaining("correlationId=3")
        .hasMessageContaining("index=8")
        .hasMessageContaining("expected index=7");
  }

  @Test
  void shouldRefuseUnknownEntryKindAndInvalidIds() {
    final Frame badKind =
        Frame.newBuilder()
            .setAppendRequest(
                io.raftkit.wire.proto.AppendRequest.newBuilder()
                    .setTerm(1)
                    .setLeaderId(1)
                    .addEntries(io.raftkit.wire.proto.Entry.newBuilder().setTerm(1).setIndex(1).setKindValue(9)))
            .build();
    final Frame noCandidate =
        Frame.newBuilder().setVoteRequest(io.raftkit.wire.proto.VoteRequest.newBuilder().setTerm(1)).build();
    final Frame hugeTerm =
        Frame.newBuilder().setVoteResponse(io.raftkit.wire.proto.VoteResponse.newBuilder().setTerm(-5L)).build();

    assertThatThrownBy(() -> WireCodec.decode(badKind.toByteArray()))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("code=9");
    assertThatThrownBy(() -> WireCodec.decode(noCandidate.toByteArray()))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("candidateId=0");
    assertThatThrownBy(() -> WireCodec.decode(hugeTerm.toByteArray()))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("term=18446744073709551611");
  }

  @Test
  void shouldOnlyEverDecodeOrThrowWireFormatExceptionOnRandomAndMutatedInput() {
    // A fixed seed keeps the default run reproducible; explore others with -Draftkit.fuzz.seed=N.
    final long seed = Long.getLong("raftkit.fuzz.seed", 20261126L);
    final java.util.Random random = new java.util.Random(seed);
    final List<byte[]> valid = new ArrayList<>();
    frames().forEach(f -> valid.add(WireCodec.encodeToArray(f)));
    int decoded = 0;
    for (int i = 0; i < 20_000; i++) {
      final byte[] input;
      if (i % 2 == 0) {
        input = new byte[random.nextInt(64)];
        random.nextBytes(input);
      } else {
        input = valid.get(random.nextInt(valid.size())).clone();
        final int flips = 1 + random.nextInt(3);
        for (int f = 0; f < flips && input.length > 0; f++) {
          input[random.nextInt(input.length)] = (byte) random.nextInt(256);
        }
      }
      try {
        assertThat(WireCodec.decode(input)).as("seed=%d i=%d", seed, i).isNotNull();
        decoded++;
      } catch (final WireFormatException expected) {
        assertThat(expected.getMessage()).as("seed=%d i=%d", seed, i).contains("length=" + input.length);
      } catch (final RuntimeException e) {
        throw new AssertionError("seed=" + seed + " i=" + i + " threw " + e, e);
      }
    }
    assertThat(decoded).as("seed=%d: some mutations still decode", seed).isPositive();
  }

  private static com.google.protobuf.UnknownFieldSet unknown(final int number, final long value) {
    return com.google.protobuf.UnknownFieldSet.newBuilder()
        .addField(number, com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(value).build())
        .build();
  }
}
