package io.raftkit.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.wire.proto.Frame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Holds {@link AppendFrameCodec} to the generated classes: same bytes out, same frames in, and
 * every frame it does not decode exactly as they would is one it declines.
 */
class AppendFrameCodecTest {

  private static final long SEED = Long.getLong("raftkit.fuzz.seed", 20261126L);

  // -------------------------------------------------------------------------------- schema

  @Test
  void shouldKnowEveryFieldOfTheMessagesItCodesByHand() {
    final List<String> schema = new ArrayList<>();
    final Descriptor frame = Frame.getDescriptor();
    for (final FieldDescriptor f : frame.getFields()) {
      if (f.getRealContainingOneof() == null || f.getNumber() == 12 || f.getNumber() == 13) {
        schema.add(describe(frame, f));
      }
    }
    for (final Descriptor m :
        List.of(
            io.raftkit.wire.proto.AppendRequest.getDescriptor(),
            io.raftkit.wire.proto.LogId.getDescriptor(),
            io.raftkit.wire.proto.Entry.getDescriptor(),
            io.raftkit.wire.proto.AppendResponse.getDescriptor())) {
      for (final FieldDescriptor f : m.getFields()) {
        schema.add(describe(m, f));
      }
    }
    for (final EnumValueDescriptor v : io.raftkit.wire.proto.EntryKind.getDescriptor().getValues()) {
      schema.add("EntryKind." + v.getName() + "=" + v.getNumber());
    }

    assertThat(schema)
        .as("raftkit.proto changed a message AppendFrameCodec encodes by hand: teach AppendFrameCodec"
            + " the change (encode, decode, SCHEMA) so that its bytes stay the generated ones")
        .containsExactlyElementsOf(AppendFrameCodec.SCHEMA);
    for (final EntryKind kind : EntryKind.values()) {
      assertThat(io.raftkit.wire.proto.EntryKind.forNumber(kind.code()).name())
          .as("EntryKind %s", kind)
          .isEqualTo("ENTRY_KIND_" + kind.name());
    }
  }

  private static String describe(final Descriptor message, final FieldDescriptor f) {
    final String type =
        switch (f.getType()) {
          case MESSAGE -> f.getMessageType().getName();
          case ENUM -> f.getEnumType().getName();
          default -> f.getType().name();
        };
    return message.getName() + "." + f.getName() + "=" + f.getNumber() + " " + (f.isRepeated() ? "repeated " : "")
        + type;
  }

  // -------------------------------------------------------------------------------- differential

  @Test
  void shouldWriteTheGeneratedBytesAndReadThemBackForRandomAppends() throws IOException {
    final Random random = new Random(SEED);
    for (int i = 0; i < 600; i++) {
      final WireFrame frame = i % 3 == 2 ? randomResponse(random) : randomRequest(random);
      final byte[] generated = WireCodec.encodeGenerated(frame).toByteArray();
      final EncodedFrame fast = encodeFast(frame);

      assertThat(fast.toByteArray()).as("seed=%d i=%d %s", SEED, i, frame).isEqualTo(generated);
      assertThat(fast.size()).isEqualTo(generated.length);
      assertThat(Frame.parseFrom(fast.toByteArray())).isEqualTo(Frame.parseFrom(generated));
      assertThat(AppendFrameCodec.decode(generated, 0, generated.length)).as("seed=%d i=%d", SEED, i).isEqualTo(frame);
      assertThat(WireCodec.decodeGenerated(fast.toByteArray(), 0, fast.size())).isEqualTo(frame);
      assertThat(WireCodec.decode(WireCodec.encodeToArray(frame))).isEqualTo(frame);

      // Through a direct and a heap buffer, at an offset, as transports write and read them.
      final ByteBuffer direct = ByteBuffer.allocateDirect(fast.size() + 9);
      direct.position(5);
      fast.writeTo(direct);
      assertThat(direct.position()).isEqualTo(5 + fast.size());
      direct.flip().position(5);
      assertThat(AppendFrameCodec.decode(direct)).isEqualTo(frame);
      assertThat(direct.position()).isEqualTo(5);
      final byte[] heapArray = new byte[fast.size() + 9];
      fast.writeTo(ByteBuffer.wrap(heapArray, 3, fast.size()));
      assertThat(Arrays.copyOfRange(heapArray, 3, 3 + fast.size())).isEqualTo(generated);
      assertThat(AppendFrameCodec.decode(ByteBuffer.wrap(heapArray, 3, fast.size()).slice())).isEqualTo(frame);
    }
  }

  @Test
  void shouldCarryEveryEntryKindAndExtremeValues() throws IOException {
    final List<Entry> entries = new ArrayList<>();
    final long base = Long.MAX_VALUE - 4;
    entries.add(Entry.blank(LogId.of(Long.MAX_VALUE, base + 1)));
    entries.add(Entry.membership(LogId.of(Long.MAX_VALUE, base + 2),
        Membership.ofVoters(Map.of(1L, "a:1", 2L, "b:2", Long.MAX_VALUE, "c:3"))));
    entries.add(Entry.normal(LogId.of(Long.MAX_VALUE, base + 3), new byte[0]));
    entries.add(Entry.normal(LogId.of(Long.MAX_VALUE, base + 4), new byte[300_000]));
    final List<WireFrame> frames = List.of(
        new WireFrame.Request(-1L, new AppendRequest(Long.MAX_VALUE, Long.MAX_VALUE, LogId.of(Long.MAX_VALUE, base),
            entries, Long.MAX_VALUE)),
        new WireFrame.Request(0, new AppendRequest(0, 1, LogId.ZERO, List.of(), 0)),
        new WireFrame.Response(Long.MIN_VALUE, new AppendResponse(Long.MAX_VALUE, true, Long.MAX_VALUE, Long.MAX_VALUE)),
        new WireFrame.Response(0, new AppendResponse(0, false, 0, 0)));

    for (final WireFrame frame : frames) {
      final byte[] generated = WireCodec.encodeGenerated(frame).toByteArray();
      assertThat(encodeFast(frame).toByteArray()).as("%s", frame).isEqualTo(generated);
      assertThat(AppendFrameCodec.decode(generated, 0, generated.length)).isEqualTo(frame);
    }
  }

  @Test
  void shouldBeTheCodecWireCodecUsesForAppends() {
    final WireFrame request =
        new WireFrame.Request(1, new AppendRequest(2, 1, LogId.ZERO, List.of(Entry.blank(LogId.of(2, 1))), 0));
    final WireFrame response = new WireFrame.Response(1, AppendResponse.success(2, 1));
    final WireFrame vote = new WireFrame.Request(1, new VoteRequest(2, 1, LogId.ZERO, false));

    assertThat(WireCodec.encode(request).getClass().getEnclosingClass()).isEqualTo(AppendFrameCodec.class);
    assertThat(WireCodec.encode(response).getClass().getEnclosingClass()).isEqualTo(AppendFrameCodec.class);
    assertThat(WireCodec.encode(vote).getClass().getEnclosingClass()).isEqualTo(WireCodec.class);
    assertThat(WireCodec.encode(request).toString()).contains("body=APPEND_REQUEST");
    final byte[] voteBytes = WireCodec.encodeToArray(vote);
    assertThat(AppendFrameCodec.decode(voteBytes, 0, voteBytes.length)).as("not an append: declined").isNull();
  }

  @Test
  void shouldKeepTheEntriesItWasGivenWhenTheListChangesAfterEncoding() {
    final List<Entry> entries = new ArrayList<>(List.of(Entry.normal(LogId.of(1, 1), new byte[] {1, 2})));
    final WireFrame frame = new WireFrame.Request(3, new AppendRequest(1, 1, LogId.ZERO, entries, 0));
    final EncodedFrame encoded = WireCodec.encode(frame);
    final byte[] before = encoded.toByteArray();

    entries.add(Entry.normal(LogId.of(1, 2), new byte[] {3}));

    assertThat(encoded.toByteArray()).isEqualTo(before);
    assertThat(encoded.size()).isEqualTo(before.length);
  }

  @Test
  void shouldNotShareDecodedPayloadsWithTheInput() throws IOException {
    final WireFrame frame = new WireFrame.Request(1,
        new AppendRequest(1, 1, LogId.ZERO, List.of(Entry.normal(LogId.of(1, 1), new byte[] {9, 9, 9})), 0));
    final byte[] bytes = WireCodec.encodeToArray(frame);
    final ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();

    final WireFrame fromArray = AppendFrameCodec.decode(bytes, 0, bytes.length);
    final WireFrame fromDirect = AppendFrameCodec.decode(direct);
    Arrays.fill(bytes, (byte) 0);
    direct.clear();
    direct.put(new byte[bytes.length]);

    assertThat(fromArray).isEqualTo(frame);
    assertThat(fromDirect).isEqualTo(frame);
  }

  // -------------------------------------------------------------------------------- unusual input

  @Test
  void shouldSkipUnknownFieldsOfEveryWireTypeAtEveryLevelItself() throws IOException {
    final WireFrame expected = new WireFrame.Request(
        9, new AppendRequest(3, 2, LogId.of(2, 4), List.of(Entry.normal(LogId.of(3, 5), new byte[] {7})), 4));
    final byte[] bytes = frame(f -> {
      unknownOfEveryType(f);
      f.writeUInt64(1, 9);
      f.writeUInt64(2, 0); // group_id: read, not used
      f.writeBytes(12, message(a -> {
        unknownOfEveryType(a);
        a.writeUInt64(1, 3);
        a.writeUInt64(2, 2);
        a.writeBytes(3, message(l -> {
          l.writeUInt64(1, 2);
          unknownOfEveryType(l);
          l.writeUInt64(2, 4);
        }));
        a.writeBytes(4, message(e -> {
          e.writeUInt64(1, 3);
          unknownOfEveryType(e);
          e.writeUInt64(2, 5);
          e.writeBytes(4, com.google.protobuf.ByteString.copyFrom(new byte[] {7}));
          // A known field number with another wire type is an unknown field to protobuf.
          e.writeFixed64(2, 12345);
          e.writeFixed32(1, 6789);
        }));
        a.writeUInt64(5, 4);
      }));
      unknownOfEveryType(f);
    });

    assertThat(WireCodec.decodeGenerated(bytes, 0, bytes.length)).isEqualTo(expected);
    assertThat(AppendFrameCodec.decode(bytes, 0, bytes.length)).as("handled by the fast path").isEqualTo(expected);
  }

  @Test
  void shouldLetTheLastValueWinAndMergeARepeatedPrevLogIdAsProtobufDoes() throws IOException {
    final byte[] bytes = frame(f -> {
      f.writeUInt64(1, 1);
      f.writeBytes(12, message(a -> {
        a.writeUInt64(1, 100); // overwritten below
        a.writeUInt64(2, 1);
        a.writeBytes(3, message(l -> l.writeUInt64(1, 2)));
        a.writeBytes(3, message(l -> l.writeUInt64(2, 7))); // merges: term 2 stays
        a.writeUInt64(1, 3);
        a.writeBytes(4, message(e -> {
          e.writeUInt64(1, 3);
          e.writeUInt64(2, 99);
          e.writeUInt64(2, 8);
          e.writeBytes(4, com.google.protobuf.ByteString.copyFromUtf8("old"));
          e.writeBytes(4, com.google.protobuf.ByteString.copyFromUtf8("new"));
        }));
      }));
      f.writeUInt64(1, 5);
    });
    final WireFrame expected = new WireFrame.Request(
        5, new AppendRequest(3, 1, LogId.of(2, 7), List.of(Entry.normal(LogId.of(3, 8), "new".getBytes())), 0));

    assertThat(WireCodec.decodeGenerated(bytes, 0, bytes.length)).isEqualTo(expected);
    assertThat(AppendFrameCodec.decode(bytes, 0, bytes.length)).isEqualTo(expected);
  }

  @Test
  void shouldLeaveUnusualLayoutsToTheGeneratedPath() throws IOException {
    final byte[] prevAfterEntries = frame(f -> f.writeBytes(12, message(a -> {
      a.writeUInt64(2, 1);
      a.writeBytes(4, message(e -> e.writeUInt64(2, 1)));
      a.writeBytes(3, message(l -> l.writeUInt64(1, 0)));
    })));
    final byte[] twoAppendBodies = frame(f -> {
      f.writeBytes(12, message(a -> a.writeUInt64(2, 1)));
      f.writeBytes(12, message(a -> a.writeUInt64(1, 4)));
    });
    final byte[] appendThenVote = frame(f -> {
      f.writeUInt64(1, 2);
      f.writeBytes(12, message(a -> a.writeUInt64(2, 1)));
      f.writeBytes(10, message(v -> {
        v.writeUInt64(1, 3);
        v.writeUInt64(2, 2);
      }));
    });

    for (final byte[] bytes : List.of(prevAfterEntries, twoAppendBodies, appendThenVote)) {
      assertThat(AppendFrameCodec.decode(bytes, 0, bytes.length)).isNull();
    }
    assertThat(WireCodec.decode(prevAfterEntries)).isEqualTo(WireCodec.decodeGenerated(prevAfterEntries, 0,
        prevAfterEntries.length)).isEqualTo(new WireFrame.Request(0,
            new AppendRequest(0, 1, LogId.ZERO, List.of(Entry.normal(LogId.of(0, 1), new byte[0])), 0)));
    assertThat(WireCodec.decode(twoAppendBodies))
        .isEqualTo(new WireFrame.Request(0, new AppendRequest(4, 1, LogId.ZERO, List.of(), 0)));
    assertThat(WireCodec.decode(appendThenVote))
        .isEqualTo(new WireFrame.Request(2, new VoteRequest(3, 2, LogId.ZERO, false)));
  }

  // -------------------------------------------------------------------------------- malformed

  @Test
  void shouldRefuseATruncatedFrame() {
    final byte[] bytes = WireCodec.encodeToArray(sampleRequest());
    for (final int cut : new int[] {1, 3, 4, 5, bytes.length / 2, bytes.length - 1}) {
      final byte[] truncated = Arrays.copyOf(bytes, cut);
      assertMalformed(truncated, "malformed frame length=" + cut);
    }
    assertMalformed(Arrays.copyOf(bytes, bytes.length - 1), "input ended unexpectedly");
  }

  @Test
  void shouldRefuseABadVarint() {
    final byte[] bytes = frame(f -> f.writeBytes(12, message(a -> {
      // An entry whose length never ends. (A uint64 value does not do: protobuf reads a 64-bit
      // varint of more than 10 bytes as its first 10.)
      a.writeTag(4, 2);
      for (int i = 0; i < 11; i++) {
        a.writeRawByte((byte) 0xff);
      }
      a.writeRawByte((byte) 0x01);
    })));
    assertMalformed(bytes, "malformed varint");
  }

  @Test
  void shouldRefuseAnInvalidWireTypeAndAStrayEndGroup() {
    final byte[] invalidWireType = frame(f -> f.writeBytes(12, message(a -> a.writeBytes(4, message(e -> {
      e.writeUInt64(2, 1);
      e.writeTag(9, 7); // wire type 7 does not exist
    })))));
    final byte[] strayEndGroup = frame(f -> f.writeBytes(12, message(a -> {
      a.writeUInt64(2, 1);
      a.writeTag(6, 4); // END_GROUP with no group open
    })));
    final byte[] negativeLength = frame(f -> {
      f.writeTag(12, 2);
      f.writeUInt32NoTag(-1);
    });

    assertMalformed(invalidWireType, "invalid wire type");
    assertMalformed(strayEndGroup, "end-group tag did not match");
    assertMalformed(negativeLength, "negative size");
  }

  @Test
  void shouldRefuseEntriesThatDoNotFollowPrevLogId() {
    final byte[] bytes = frame(f -> {
      f.writeUInt64(1, 3);
      f.writeBytes(12, message(a -> {
        a.writeUInt64(1, 2);
        a.writeUInt64(2, 1);
        a.writeBytes(3, message(l -> {
          l.writeUInt64(1, 1);
          l.writeUInt64(2, 5);
        }));
        a.writeBytes(4, message(e -> {
          e.writeUInt64(1, 2);
          e.writeUInt64(2, 6);
        }));
        a.writeBytes(4, message(e -> {
          e.writeUInt64(1, 2);
          e.writeUInt64(2, 8);
        }));
      }));
    });
    assertInvalid(bytes, "invalid APPEND_REQUEST frame length=" + bytes.length + " correlationId=3: entry i=1"
        + " has index=8 but expected index=7 (entries must follow prevLogId=1-5 consecutively)");
  }

  @Test
  void shouldRefuseAKnownFieldNumberOfTheWrongWireTypeAsTheAbsentField() {
    // The index sent as fixed64 is an unknown field: the entry has index 0, which does not follow.
    final byte[] bytes = frame(f -> f.writeBytes(12, message(a -> {
      a.writeUInt64(2, 1);
      a.writeBytes(3, message(l -> {}));
      a.writeBytes(4, message(e -> {
        e.writeUInt64(1, 1);
        e.writeFixed64(2, 1);
      }));
    })));
    assertInvalid(bytes, "entry i=0 has index=0 but expected index=1");
  }

  @Test
  void shouldRefuseUnknownEntryKindsAndInvalidFields() {
    assertInvalid(request(a -> {}, e -> e.writeEnum(3, 9)), "unknown entry kind code=9");
    assertInvalid(request(a -> {}, e -> e.writeEnum(3, -1)), "unknown entry kind code=-1");
    assertInvalid(request(a -> a.writeUInt64(1, -5L), e -> {}), "term=18446744073709551611 exceeds");
    assertInvalid(request(a -> a.writeUInt64(5, -1L), e -> {}), "leaderCommit=18446744073709551615 exceeds");
    assertInvalid(request(a -> a.writeUInt64(2, 0), e -> {}), "leaderId=0 must be > 0");
    assertInvalid(request(a -> {}, e -> e.writeUInt64(1, -2L)), "term=-2 must be >= 0");
    assertInvalid(request(a -> {}, e -> {
      e.writeEnum(3, EntryKind.BLANK.code());
      e.writeBytes(4, com.google.protobuf.ByteString.copyFromUtf8("x"));
    }), "a blank entry has no payload");
    assertInvalid(
        frame(f -> f.writeBytes(12, message(a -> {
          a.writeUInt64(2, 1);
          a.writeBytes(3, message(l -> l.writeUInt64(1, 4)));
        }))),
        "index=0 requires term=0 but term=4");
    final byte[] badResponse = frame(f -> f.writeBytes(13, message(r -> {
      r.writeUInt64(1, 1);
      r.writeUInt64(3, -3L);
    })));
    assertInvalid(badResponse, "invalid APPEND_RESPONSE").hasMessageContaining("matchIndex=18446744073709551613");
  }

  @Test
  void shouldDecodeDeeplyNestedUnknownGroupsExactlyWhenProtobufDoes() throws IOException {
    // Protobuf refuses nesting beyond its recursion limit; the fast path must never accept more.
    for (int depth = 80; depth <= 105; depth++) {
      final int groups = depth;
      final byte[] inEntry = request(a -> {}, e -> nestedGroups(e, groups));
      final byte[] inFrame = frame(f -> {
        f.writeBytes(12, message(a -> a.writeUInt64(2, 1)));
        nestedGroups(f, groups);
      });
      for (final byte[] bytes : List.of(inEntry, inFrame)) {
        final WireFrame fast = AppendFrameCodec.decode(bytes, 0, bytes.length);
        final Object reference = outcome(() -> WireCodec.decodeGenerated(bytes, 0, bytes.length));
        if (fast != null) {
          assertThat(reference).as("depth=%d", depth).isEqualTo(fast);
        }
        assertThat(outcome(() -> WireCodec.decode(bytes))).as("depth=%d", depth).isEqualTo(reference);
      }
    }
  }

  @Test
  void shouldDecodeMutatedAppendsExactlyAsTheGeneratedPathOrDeclineThem() {
    final Random random = new Random(SEED);
    final List<byte[]> valid = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      valid.add(WireCodec.encodeToArray(i % 4 == 3 ? randomResponse(random) : randomRequest(random, 6, 40)));
    }
    int fastAccepted = 0;
    int referenceAccepted = 0;
    for (int i = 0; i < 30_000; i++) {
      final byte[] input = mutate(random, valid.get(random.nextInt(valid.size())));
      final WireFrame fast = AppendFrameCodec.decode(input, 0, input.length);
      final Object reference = outcome(() -> WireCodec.decodeGenerated(input, 0, input.length));
      if (fast != null) {
        fastAccepted++;
        assertThat(reference).as("seed=%d i=%d: the fast path accepted what protobuf decodes otherwise", SEED, i)
            .isEqualTo(fast);
      }
      if (reference instanceof WireFrame) {
        referenceAccepted++;
      }
      assertThat(outcome(() -> WireCodec.decode(input))).as("seed=%d i=%d", SEED, i).isEqualTo(reference);
    }
    assertThat(fastAccepted).as("seed=%d: some mutations still decode on the fast path", SEED).isPositive();
    assertThat(referenceAccepted).isGreaterThanOrEqualTo(fastAccepted);
  }

  // -------------------------------------------------------------------------------- helpers

  private static EncodedFrame encodeFast(final WireFrame frame) {
    if (frame instanceof WireFrame.Request r) {
      return AppendFrameCodec.encode(r.correlationId(), (AppendRequest) r.request());
    }
    final WireFrame.Response r = (WireFrame.Response) frame;
    return AppendFrameCodec.encode(r.correlationId(), (AppendResponse) r.response());
  }

  private static WireFrame sampleRequest() {
    final List<Entry> entries = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      entries.add(Entry.normal(LogId.of(2, 10 + i), new byte[20]));
    }
    return new WireFrame.Request(7, new AppendRequest(2, 1, LogId.of(2, 10), entries, 9));
  }

  private static WireFrame randomRequest(final Random random) {
    return randomRequest(random, 70, 2_000);
  }

  private static WireFrame randomRequest(final Random random, final int maxEntries, final int maxPayload) {
    final long term = bigOrSmall(random);
    final long prevIndex = random.nextInt(4) == 0 ? 0 : bigOrSmall(random) / 2;
    final LogId prev = prevIndex == 0 ? LogId.ZERO : LogId.of(random.nextInt(3) == 0 ? 0 : bigOrSmall(random), prevIndex);
    final int count = random.nextInt(5) == 0 ? 0 : random.nextInt(maxEntries + 1);
    final List<Entry> entries = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      final LogId id = LogId.of(random.nextInt(4) == 0 ? 0 : bigOrSmall(random), prevIndex + 1 + i);
      entries.add(switch (random.nextInt(6)) {
        case 0 -> Entry.blank(id);
        case 1 -> Entry.membership(id, Membership.ofVoters(Map.of(1L + random.nextInt(5), "h:1", 9L, "h:2")));
        default -> {
          final byte[] payload = new byte[random.nextInt(30) == 0 ? 16_384 + random.nextInt(70_000)
              : random.nextInt(3) == 0 ? 0 : random.nextInt(maxPayload)];
          random.nextBytes(payload);
          yield Entry.normal(id, payload);
        }
      });
    }
    final long leaderId = 1 + (random.nextBoolean() ? random.nextInt(7) : bigOrSmall(random) / 2);
    return new WireFrame.Request(random.nextLong() >> random.nextInt(64),
        new AppendRequest(term, leaderId, prev, entries, random.nextInt(4) == 0 ? 0 : bigOrSmall(random)));
  }

  private static WireFrame randomResponse(final Random random) {
    return new WireFrame.Response(random.nextLong() >> random.nextInt(64),
        new AppendResponse(bigOrSmall(random), random.nextBoolean(), random.nextBoolean() ? 0 : bigOrSmall(random),
            random.nextBoolean() ? 0 : bigOrSmall(random)));
  }

  /** 0, a small value, or one of any varint length up to 9 bytes (the largest non-negative long). */
  private static long bigOrSmall(final Random random) {
    return switch (random.nextInt(4)) {
      case 0 -> random.nextInt(3);
      case 1 -> random.nextInt(1_000);
      case 2 -> Long.MAX_VALUE - random.nextInt(3);
      default -> random.nextLong() >>> (1 + random.nextInt(63));
    };
  }

  private static byte[] mutate(final Random random, final byte[] valid) {
    byte[] input = valid.clone();
    switch (random.nextInt(4)) {
      case 0 -> {
        final int flips = 1 + random.nextInt(3);
        for (int f = 0; f < flips; f++) {
          input[random.nextInt(input.length)] = (byte) random.nextInt(256);
        }
      }
      case 1 -> input = Arrays.copyOf(input, random.nextInt(input.length));
      case 2 -> {
        final int at = random.nextInt(input.length + 1);
        final byte[] inserted = new byte[1 + random.nextInt(4)];
        random.nextBytes(inserted);
        final byte[] out = new byte[input.length + inserted.length];
        System.arraycopy(input, 0, out, 0, at);
        System.arraycopy(inserted, 0, out, at, inserted.length);
        System.arraycopy(input, at, out, at + inserted.length, input.length - at);
        input = out;
      }
      default -> {
        // A small varint (0..127) somewhere: often a length, a kind, an index or a tag.
        input[random.nextInt(input.length)] = (byte) random.nextInt(128);
      }
    }
    return input;
  }

  /** The frame decoded, or the message of the exception it threw (with its type). */
  private static Object outcome(final Decoder decoder) {
    try {
      return decoder.decode();
    } catch (final WireFormatException e) {
      return "WireFormatException: " + e.getMessage();
    } catch (final RuntimeException e) {
      throw new AssertionError("decode threw " + e, e);
    }
  }

  private static void assertMalformed(final byte[] bytes, final String problem) {
    assertThat(AppendFrameCodec.decode(bytes, 0, bytes.length)).as("declined by the fast path").isNull();
    assertThatThrownBy(() -> WireCodec.decode(bytes))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("malformed frame length=" + bytes.length)
        .hasMessageContaining(problem);
    assertThat(outcome(() -> WireCodec.decode(bytes)))
        .isEqualTo(outcome(() -> WireCodec.decodeGenerated(bytes, 0, bytes.length)));
  }

  private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertInvalid(
      final byte[] bytes, final String problem) {
    assertThat(AppendFrameCodec.decode(bytes, 0, bytes.length)).as("declined by the fast path").isNull();
    assertThat(outcome(() -> WireCodec.decode(bytes)))
        .isEqualTo(outcome(() -> WireCodec.decodeGenerated(bytes, 0, bytes.length)));
    return assertThatThrownBy(() -> WireCodec.decode(bytes))
        .isInstanceOf(WireFormatException.class)
        .hasMessageContaining("invalid APPEND_")
        .hasMessageContaining("length=" + bytes.length)
        .hasMessageContaining(problem);
  }

  /** An append request of leader 1 after prev 0-0, its fields then one entry 1-1 with the given fields. */
  private static byte[] request(final Writer appendFields, final Writer entryFields) {
    return frame(f -> {
      f.writeUInt64(1, 4);
      f.writeBytes(12, message(a -> {
        a.writeUInt64(1, 1);
        a.writeUInt64(2, 1);
        a.writeBytes(3, message(l -> {}));
        a.writeBytes(4, message(e -> {
          e.writeUInt64(1, 1);
          e.writeUInt64(2, 1);
          entryFields.write(e);
        }));
        appendFields.write(a);
      }));
    });
  }

  private static void unknownOfEveryType(final CodedOutputStream out) throws IOException {
    out.writeUInt64(20, 5);
    out.writeFixed32(21, 6);
    out.writeFixed64(22, 7);
    out.writeBytes(23, com.google.protobuf.ByteString.copyFromUtf8("later"));
    out.writeTag(24, 3); // a group, with a field inside
    out.writeUInt64(1, 8);
    out.writeTag(24, 4);
  }

  private static void nestedGroups(final CodedOutputStream out, final int depth) throws IOException {
    for (int i = 0; i < depth; i++) {
      out.writeTag(30, 3);
    }
    for (int i = 0; i < depth; i++) {
      out.writeTag(30, 4);
    }
  }

  private static byte[] frame(final Writer writer) {
    return message(writer).toByteArray();
  }

  private static com.google.protobuf.ByteString message(final Writer writer) {
    try {
      final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      writer.write(out);
      out.flush();
      return com.google.protobuf.ByteString.copyFrom(bytes.toByteArray());
    } catch (final IOException e) {
      throw new AssertionError(e);
    }
  }

  @FunctionalInterface
  private interface Writer {
    void write(CodedOutputStream out) throws IOException;
  }

  @FunctionalInterface
  private interface Decoder {
    WireFrame decode() throws WireFormatException;
  }
}
