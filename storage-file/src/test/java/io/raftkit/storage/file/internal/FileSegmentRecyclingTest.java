package io.raftkit.storage.file.internal;

import static io.raftkit.storage.file.internal.FileBytes.copyAsCrashed;
import static io.raftkit.storage.file.internal.FileBytes.flipBit;
import static io.raftkit.storage.file.internal.FileBytes.zero;
import static io.raftkit.storage.file.internal.SegmentFixtures.RECORD;
import static io.raftkit.storage.file.internal.SegmentFixtures.SEG;
import static io.raftkit.storage.file.internal.SegmentFixtures.bigs;
import static io.raftkit.storage.file.internal.SegmentFixtures.concat;
import static io.raftkit.storage.file.internal.SegmentFixtures.offsetIn;
import static io.raftkit.storage.file.internal.SegmentFixtures.readAll;
import static io.raftkit.storage.file.internal.SegmentFixtures.tempFiles;
import static io.raftkit.testkit.storage.TckEntries.entries;
import static io.raftkit.testkit.storage.TckEntries.entry;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.testkit.storage.TckEntries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Recycled segments: the file of a purged segment becomes the next prepared file instead of one
 * filled with zeros, and the purged records it still holds past the new records are never taken
 * for entries, whether the log is closed, sealed, killed or damaged.
 *
 * <p>16 KiB segments and 1000-byte records (975-byte payloads), as in {@link
 * FilePreallocationTest}: a segment holds 16 records, the preparer starts at the 9th and the 17th
 * rolls. Records in the recycled segment start at the same offsets as the purged ones, so the
 * record after the last new one is always a whole, valid purged record: the hardest case.
 */
class FileSegmentRecyclingTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  private static FileRaftStorage open(final Path d) throws IOException {
    return FileRaftStorage.open(d, SEG, true);
  }

  private static Preallocator prealloc(final FileRaftStorage s) {
    return s.segmentedLog().preallocator();
  }

  private static byte[] bytes(final Path file, final long from, final int n) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      final ByteBuffer b = ByteBuffer.allocate(n);
      ch.read(b, from);
      return b.array();
    }
  }

  /**
   * Entries 1..33 over three segments: 1 (1..16, zeroed ahead by the writer), 2 (17..32,
   * prepared with zeros) and 3 (from 33), made from segment 1's file after a purge up to 16.
   * Returns segment 3's path.
   */
  private Path rollIntoRecycled(final FileRaftStorage s) throws Exception {
    s.log().append(bigs(1, 1, 9));
    assertThat(prealloc(s).awaitSettled(WAIT)).isTrue();
    s.log().append(bigs(1, 10, 17)); // 17 rolls into the zero-filled file
    final Path first = s.segmentedLog().segmentFiles().get(0);
    assertThat(Files.size(first)).isEqualTo(SEG);

    s.log().purgePrefix(LogId.of(1, 16));
    assertThat(s.segmentedLog().recycledSegments()).isEqualTo(1);
    assertThat(prealloc(s).holdsRecycled()).isTrue();
    assertThat(first).doesNotExist();
    assertThat(tempFiles(storeDir(s))).extracting(p -> p.getFileName().toString())
        .containsExactly(Preallocator.RECYCLE_NAME);

    s.log().append(bigs(1, 18, 25)); // segment 2 past half full: the preparer takes the purged file
    assertThat(prealloc(s).awaitSettled(WAIT)).isTrue();
    assertThat(prealloc(s).recycledPrepared()).isEqualTo(1);
    assertThat(prealloc(s).holdsRecycled()).isFalse();
    s.log().append(bigs(1, 26, 33)); // 33 rolls into it
    assertThat(s.segmentedLog().preparedRolls()).isEqualTo(2);
    final List<Path> segs = s.segmentedLog().segmentFiles();
    assertThat(segs).extracting(p -> p.getFileName().toString())
        .containsExactly(Segment.fileName(17), Segment.fileName(33));
    return segs.get(1);
  }

  private Path storeDir(final FileRaftStorage s) {
    final Path log = s.segmentedLog().segmentFiles().get(0).getParent();
    return log.getParent();
  }

  @Test
  void shouldReuseAPurgedSegmentFileWithoutWritingZerosAndFindNoStaleEntryAfterAClose() throws Exception {
    final Path third;
    try (FileRaftStorage s = open(dir)) {
      third = rollIntoRecycled(s);
      s.log().append(bigs(1, 34, 37));
      s.log().sync();
      assertThat(Files.size(third)).as("the purged segment's size, not extended").isEqualTo(SEG);
      // Right after record 37 lies the purged record of index 6, whole and with a good checksum.
      final byte[] next = bytes(third, offsetIn(33, 38), RECORD);
      assertThat(ByteBuffer.wrap(next).getLong(8)).as("the stale record's index").isEqualTo(6);
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 17, 37));
    }
    assertThat(Files.size(third)).as("cut at the records' end on close").isEqualTo(offsetIn(33, 38));
    assertThat(tempFiles(dir)).isEmpty();
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 37));
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 17, 37));
      s.log().append(bigs(1, 38, 40));
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 17, 40));
    }
  }

  @Test
  void shouldCutARecycledSegmentAtItsRecordsWhenSealingIt() throws Exception {
    final Path third;
    try (FileRaftStorage s = open(dir)) {
      third = rollIntoRecycled(s);
      s.log().append(bigs(1, 34, 41)); // 9 records in segment 3: preparing the next (zeros)
      assertThat(prealloc(s).awaitSettled(WAIT)).isTrue();
      s.log().append(bigs(1, 42, 49)); // 49 rolls: segment 3 (33..48) is sealed
      assertThat(s.segmentedLog().segmentFiles()).hasSize(3);
      assertThat(Files.size(third)).as("sealed: no stale tail").isEqualTo(offsetIn(33, 49));
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 17, 49));
    }
  }

  @Test
  void shouldCutThePurgedRecordsOffAKilledRecycledSegmentAndServeOnlyNewEntries() throws Exception {
    final Path live = dir.resolve("live");
    final Path crashed = dir.resolve("crashed");
    final Path third;
    try (FileRaftStorage s = open(live)) {
      third = rollIntoRecycled(s);
      s.log().append(bigs(1, 34, 36));
      s.log().sync();
      copyAsCrashed(live, crashed); // kill -9: no close, the stale tail is still there
    }
    final Path crashedThird = crashed.resolve("log").resolve(third.getFileName());
    assertThat(Files.size(crashedThird)).isEqualTo(SEG);
    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.recoveryWarnings()).singleElement().asString()
          .contains("offset=" + offsetIn(33, 37))
          .contains("record index=5 but expected index=37");
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 36));
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 17, 36));
      s.log().append(bigs(2, 37, 38));
      s.log().sync();
    }
    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(concat(bigs(1, 17, 36), bigs(2, 37, 38)));
    }
  }

  @Test
  void shouldDeleteAPurgedFileWhenOneIsKeptAlreadyAndTheKeptOneOnClose() throws Exception {
    try (FileRaftStorage s = open(dir)) {
      s.log().append(bigs(1, 1, 9));
      assertThat(prealloc(s).awaitSettled(WAIT)).isTrue();
      s.log().append(bigs(1, 10, 25)); // 17 rolls; segment 2 past half full: the next is prepared
      assertThat(prealloc(s).awaitSettled(WAIT)).isTrue();
      s.log().append(bigs(1, 26, 33)); // 33 rolls into it
      assertThat(s.segmentedLog().segmentFiles()).hasSize(3);
      s.log().purgePrefix(LogId.of(1, 32)); // both full segments purged: one kept, one deleted
      assertThat(s.segmentedLog().recycledSegments()).isEqualTo(1);
      assertThat(tempFiles(dir)).extracting(p -> p.getFileName().toString())
          .containsExactly(Preallocator.RECYCLE_NAME);
      assertThat(s.segmentedLog().segmentFiles()).extracting(p -> p.getFileName().toString())
          .containsExactly(Segment.fileName(33));
    }
    assertThat(tempFiles(dir)).as("close deletes the kept file").isEmpty();
  }

  @Test
  void shouldRefuseAFileItCannotRenameAndKeepNothing() throws IOException {
    final Preallocator p = new Preallocator(Files.createDirectories(dir.resolve("log")), SEG);
    try {
      assertThat(p.offerRecycled(dir.resolve("no-such-segment.seg"))).isFalse();
      assertThat(p.holdsRecycled()).isFalse();
      assertThat(tempFiles(dir)).isEmpty();
    } finally {
      p.close();
    }
  }

  @Test
  void shouldNotKeepAPurgedSegmentUnderHalfTheSegmentSize() throws Exception {
    try (FileRaftStorage s = FileRaftStorage.open(dir, 1 << 20, true)) {
      s.log().append(entries(1, 1, 10)); // a few hundred bytes, zeroed ahead to 1 MiB
      s.log().purgePrefix(LogId.of(5, 100)); // beyond the last entry: the whole log goes
      assertThat(s.segmentedLog().recycledSegments()).isEqualTo(1);
    }
    try (FileRaftStorage s = FileRaftStorage.open(dir, 4 * 1024 * 1024, true)) {
      s.log().append(entries(5, 101, 110)); // zeroed ahead to 1 MiB: a quarter of the segment
      s.log().purgePrefix(LogId.of(5, 200));
      assertThat(s.segmentedLog().recycledSegments()).isZero();
      assertThat(tempFiles(dir)).isEmpty();
    }
  }

  @Test
  void shouldSwitchAPreparationWritingZerosToAPurgedFileOfferedMeanwhile() throws Exception {
    final int seg = 1 << 20; // four 256 KiB chunks of zeros
    final Path offered = dir.resolve("log").resolve("offered.bin");
    final byte[] marker = new byte[4096];
    Arrays.fill(marker, (byte) 0x5A);
    final AtomicBoolean once = new AtomicBoolean();
    try (FileRaftStorage s = FileRaftStorage.open(dir, seg, true)) {
      final Preallocator p = prealloc(s);
      Files.write(offered, marker);
      try (FileChannel ch = FileChannel.open(offered, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(marker), seg - 2L * marker.length); // 1 MiB less 4 KiB, marked at both ends
      }
      p.afterChunk =
          () -> {
            if (once.compareAndSet(false, true)) {
              assertThat(p.offerRecycled(offered)).isTrue();
            }
          };
      s.log().append(List.of(entry(1, 1, seg / 2))); // past half full: the preparer starts
      assertThat(p.awaitSettled(WAIT)).isTrue();
      assertThat(p.recycledPrepared()).isEqualTo(1);
      final Path prepared = dir.resolve("log").resolve(Preallocator.TEMP_NAME);
      assertThat(Files.size(prepared)).as("topped up to the segment size").isEqualTo(seg);
      assertThat(bytes(prepared, 0, marker.length)).as("the offered file, not zeros").isEqualTo(marker);
      assertThat(bytes(prepared, seg - marker.length, marker.length)).as("topped up with zeros")
          .isEqualTo(new byte[marker.length]);
    }
  }

  /**
   * A recycled segment after a crash, with pages of the unsynced records lost or a bit flipped
   * anywhere: recovery repairs it (cuts after the synced records, only new entries served, a
   * later append comes back exactly) or refuses it (damage before the synced end), naming the
   * file; never does a purged record come back as an entry.
   */
  @ParameterizedTest(name = "seed={0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
  void shouldRepairOrRefuseEveryFaultInARecycledSegment(final long seed) throws Exception {
    final SplittableRandom random = new SplittableRandom(seed);
    final Path live = dir.resolve("live");
    final Path crashed = dir.resolve("crashed");
    final long synced = 33 + random.nextInt(7);
    final long written = synced + 1 + random.nextInt(7);
    final Path third;
    try (FileRaftStorage s = open(live)) {
      third = rollIntoRecycled(s);
      s.log().append(bigs(1, 34, synced));
      s.log().sync();
      s.log().append(bigs(1, synced + 1, written));
      copyAsCrashed(live, crashed);
    }
    final Path seg = crashed.resolve("log").resolve(third.getFileName());
    final long syncedEnd = offsetIn(33, synced + 1);
    final long writtenEnd = offsetIn(33, written + 1);
    final boolean lostPages = random.nextBoolean();
    final long at;
    if (lostPages) {
      at = syncedEnd + random.nextLong(writtenEnd - syncedEnd);
      zero(seg, at, Math.min(SEG, at + 1 + random.nextLong(4096)));
    } else {
      at = Segment.HEADER_BYTES + random.nextLong(SEG - Segment.HEADER_BYTES);
      flipBit(seg, at, random.nextInt(8));
    }
    final String fault = (lostPages ? "zeros from " : "bit flipped at ") + at + ", syncedEnd=" + syncedEnd;
    final FileRaftStorage s;
    try {
      s = open(crashed);
    } catch (final IOException e) {
      assertThat(lostPages).as(fault).isFalse();
      assertThat(at).as("refused only for damage before the synced end: %s", fault).isLessThan(syncedEnd);
      assertThat(e).hasMessageContaining("file=" + seg);
      return;
    }
    final long last;
    try (s) {
      assertThat(at).as("damage before the synced end must be refused: %s", fault).isGreaterThanOrEqualTo(syncedEnd);
      final List<Entry> all = readAll(s);
      assertThat(all.get(0).index()).isEqualTo(17);
      assertThat(all.size()).as(fault).isBetween((int) (synced - 16), (int) (written - 16));
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).index()).as(fault).isEqualTo(17 + i);
        assertThat(TckEntries.isIntact(all.get(i))).as("%s: %s intact", fault, all.get(i)).isTrue();
      }
      last = s.log().lastLogId().index();
      s.log().append(List.of(entry(2, last + 1, 3), entry(2, last + 2, 3)));
      s.log().sync();
    }
    try (FileRaftStorage again = open(crashed)) {
      assertThat(again.recoveryWarnings()).as(fault).isEmpty();
      assertThat(again.log().lastLogId()).as(fault).isEqualTo(LogId.of(2, last + 2));
    }
  }

}
