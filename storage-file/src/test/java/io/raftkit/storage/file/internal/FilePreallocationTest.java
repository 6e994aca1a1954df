package io.raftkit.storage.file.internal;

import static io.raftkit.storage.file.internal.FileBytes.copyAsCrashed;
import static io.raftkit.storage.file.internal.FileBytes.flipBit;
import static io.raftkit.storage.file.internal.FileBytes.writeByte;
import static io.raftkit.storage.file.internal.FileBytes.zero;
import static io.raftkit.storage.file.internal.SegmentFixtures.PAYLOAD;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.storage.file.FileStorage;
import io.raftkit.testkit.storage.TckEntries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Preallocated segments: a roll takes the file prepared in the background, recovery takes its
 * zero tail as the clean end of the segment (last or sealed) but cuts off, or refuses, anything
 * else behind zeros, and closing never leaves the prepared file behind.
 *
 * <p>Most tests use 16 KiB segments and records of exactly 1000 bytes (975-byte payloads): a
 * segment holds 16 of them (128 + 16,000 bytes, then 256 bytes of zeros), the preparer starts
 * once the 9th is written (past 8 KiB), and the 17th rolls.
 */
class FilePreallocationTest {

  private static final int PER_SEGMENT = 16;
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  private static FileRaftStorage open(final Path d) throws IOException {
    return FileRaftStorage.open(d, SEG, true);
  }

  private static Entry big(final long term, final long index) {
    return entry(term, index, PAYLOAD);
  }

  private static Preallocator prealloc(final FileRaftStorage s) {
    return s.segmentedLog().preallocator();
  }

  private static void awaitReady(final FileRaftStorage s) throws InterruptedException {
    assertThat(prealloc(s).awaitSettled(WAIT)).as("a prepared file is ready").isTrue();
  }

  /**
   * Writes entries 1..17: segment 1 (1..16, created unpreallocated) fills, the preparer is awaited
   * once it started, and entry 17 rolls into the prepared file.
   */
  private static void fillFirstSegmentAndRollIntoPrepared(final FileRaftStorage s) throws Exception {
    s.log().append(bigs(1, 1, 9));
    awaitReady(s);
    s.log().append(bigs(1, 10, 16));
    assertThat(s.segmentedLog().segmentFiles()).hasSize(1);
    s.log().append(bigs(1, 17, 17));
    assertThat(s.segmentedLog().preparedRolls()).isEqualTo(1);
  }

  @Test
  void shouldNotPrepareAFileBeforeTheActiveSegmentIsHalfFull() throws Exception {
    try (FileRaftStorage s = open(dir)) {
      s.log().append(bigs(1, 1, 8)); // 128 + 8,000 bytes: not past 8 KiB
      assertThat(prealloc(s).awaitSettled(WAIT)).isFalse();
      assertThat(prealloc(s).prepared()).isZero();
      assertThat(tempFiles(dir)).isEmpty();
      assertThat(prealloc(s).terminated()).as("no thread was started").isTrue();

      s.log().append(bigs(1, 9, 9));
      awaitReady(s);
      assertThat(tempFiles(dir)).containsExactly(dir.resolve("log").resolve(Preallocator.TEMP_NAME));
      assertThat(Files.size(tempFiles(dir).get(0))).isEqualTo(SEG);
    }
  }

  @Test
  void shouldRollIntoThePreparedFileAndFindItsZeroTailCleanOnReopen() throws Exception {
    final Path second;
    try (FileRaftStorage s = open(dir)) {
      fillFirstSegmentAndRollIntoPrepared(s);
      final List<Path> segs = s.segmentedLog().segmentFiles();
      assertThat(segs).hasSize(2);
      second = segs.get(1);
      assertThat(second.getFileName()).hasToString(Segment.fileName(17));
      assertThat(Files.size(second)).as("the prepared file's size").isEqualTo(SEG);
      assertThat(Files.size(segs.get(0))).as("the first segment, not prepared but zeroed ahead by the writer")
          .isEqualTo(SEG);
      assertThat(tempFiles(dir)).as("the prepared file was renamed").isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 17));
      s.log().sync();
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 17));
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 17));
      assertThat(Files.size(second)).as("the zeros are kept").isEqualTo(SEG);
      s.log().append(bigs(1, 18, 20)); // over the zeros
      assertThat(Files.size(second)).isEqualTo(SEG);
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 20));
    }
  }

  @Test
  void shouldReopenSealedPreallocatedSegments() throws Exception {
    try (FileRaftStorage s = open(dir)) {
      fillFirstSegmentAndRollIntoPrepared(s); // segment 2 starts at 17
      s.log().append(bigs(1, 18, 25)); // 9 records in segment 2: the preparer starts
      awaitReady(s);
      s.log().append(bigs(1, 26, 40)); // 33 rolls into the second prepared file
      assertThat(s.segmentedLog().preparedRolls()).isEqualTo(2);
      s.log().sync();
    }
    final List<Path> segs;
    try (FileRaftStorage s = open(dir)) {
      segs = s.segmentedLog().segmentFiles();
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(segs).extracting(p -> p.getFileName().toString())
          .containsExactly(Segment.fileName(1), Segment.fileName(17), Segment.fileName(33));
      assertThat(Files.size(segs.get(1))).as("sealed, with a zero tail of 256 bytes").isEqualTo(SEG);
      assertThat(Files.size(segs.get(2))).isEqualTo(SEG);
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 40));
      s.log().append(bigs(1, 41, 50));
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 50));
    }
  }

  @ParameterizedTest(name = "zeros from offset {0} after record 21's start")
  @ValueSource(ints = {0, 10})
  void shouldCutATornRecordFollowedByZerosAndAStaleRecord(final int tornBytes) throws Exception {
    final Path crashed = dir.resolve("crashed");
    try (FileRaftStorage s = open(dir.resolve("live"))) {
      fillFirstSegmentAndRollIntoPrepared(s);
      s.log().append(bigs(1, 18, 20));
      s.log().sync();
      s.log().append(bigs(1, 21, 26)); // written, not synced
      copyAsCrashed(dir.resolve("live"), crashed);
    }
    // Power loss: record 21 kept its first tornBytes bytes, the pages of 22 and 23 never reached
    // the disk (still zeros), those of 24..26 did.
    final Path seg = crashed.resolve("log").resolve(Segment.fileName(17));
    final long at21 = offsetIn(17, 21);
    zero(seg, at21 + tornBytes, offsetIn(17, 24));

    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.recoveryWarnings()).singleElement().asString()
          .contains("file=" + seg)
          .contains("offset=" + at21);
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 20));
      assertThat(Files.size(seg)).as("cut off, stale records and preallocation with it").isEqualTo(at21);
      s.log().append(entries(2, 21, 23)); // small records: would end before the stale ones
    }
    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(2, 23));
      assertThat(s.log().read(17, 24, Long.MAX_VALUE))
          .containsExactlyElementsOf(concat(bigs(1, 17, 20), entries(2, 21, 23)));
    }
  }

  @Test
  void shouldCutANonZeroByteInTheZeroTailOfTheLastSegment() throws Exception {
    final Path seg;
    try (FileRaftStorage s = open(dir)) {
      fillFirstSegmentAndRollIntoPrepared(s);
      seg = s.segmentedLog().segmentFiles().get(1);
    }
    writeByte(seg, SEG - 1, 7);

    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).singleElement().asString()
          .contains("file=" + seg)
          .contains("offset=" + offsetIn(17, 18));
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 17));
      assertThat(Files.size(seg)).isEqualTo(offsetIn(17, 18));
    }
  }

  @Test
  void shouldRefuseZerosBeforeTheSyncedEndNamingFileAndOffset() throws Exception {
    final Path seg;
    try (FileRaftStorage s = open(dir)) {
      fillFirstSegmentAndRollIntoPrepared(s);
      s.log().append(bigs(1, 18, 20));
      s.log().sync(); // synced end: after 20
      seg = s.segmentedLog().segmentFiles().get(1);
    }
    // Synced records 19 and 20 lost: all zeros from record 19 to the file end.
    zero(seg, offsetIn(17, 19), SEG);

    assertThatThrownBy(() -> open(dir))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("file=" + seg)
        .hasMessageContaining("offset=" + offsetIn(17, 19))
        .hasMessageContaining("synced end offset=" + offsetIn(17, 21));
    assertThat(Files.size(seg)).as("nothing cut").isEqualTo(SEG);
  }

  @Test
  void shouldRefuseAStaleRecordBehindTheZerosOfASealedSegment() throws Exception {
    final List<Path> segs;
    try (FileRaftStorage s = open(dir)) {
      fillFirstSegmentAndRollIntoPrepared(s);
      s.log().append(bigs(1, 18, 25));
      awaitReady(s);
      s.log().append(bigs(1, 26, 33)); // segment 2 (17..32) is sealed
      segs = s.segmentedLog().segmentFiles();
    }
    assertThat(segs).hasSize(3);
    final long sealedEnd = offsetIn(17, 33);
    writeByte(segs.get(1), sealedEnd + 100, 1);

    assertThatThrownBy(() -> open(dir))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("file=" + segs.get(1))
        .hasMessageContaining("offset=" + sealedEnd)
        .hasMessageContaining("sealed");
  }

  @Test
  void shouldLeaveNoTempFileWhenClosedWhilePreparing() throws Exception {
    final CountDownLatch inside = new CountDownLatch(1);
    final AtomicBoolean sawStop = new AtomicBoolean();
    final Preallocator p;
    try (FileRaftStorage s = open(dir)) {
      p = prealloc(s);
      p.afterChunk =
          () -> {
            inside.countDown();
            try {
              sawStop.set(p.awaitStopping(WAIT)); // hold the preparer until close() asks it to stop
            } catch (final InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          };
      s.log().append(bigs(1, 1, 9));
      assertThat(inside.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(tempFiles(dir)).as("being prepared").hasSize(1);
    }
    assertThat(sawStop).isTrue();
    assertThat(p.terminated()).as("close waited for the thread").isTrue();
    assertThat(p.prepared()).isZero();
    assertThat(tempFiles(dir)).isEmpty();
  }

  @Test
  void shouldDeleteAReadyButUnusedFileOnClose() throws Exception {
    final Preallocator p;
    try (FileRaftStorage s = open(dir)) {
      p = prealloc(s);
      s.log().append(bigs(1, 1, 9));
      awaitReady(s);
      assertThat(tempFiles(dir)).hasSize(1);
    }
    assertThat(p.terminated()).isTrue();
    assertThat(tempFiles(dir)).isEmpty();
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 9));
    }
  }

  @Test
  void shouldCarryOnUnpreallocatedWhenPreparingFails() throws Exception {
    try (FileRaftStorage s = open(dir)) {
      // A directory where the preparer creates its file: opening it for writing fails.
      Files.createDirectory(dir.resolve("log").resolve(Preallocator.TEMP_NAME));
      s.log().append(bigs(1, 1, 9));
      assertThat(prealloc(s).awaitSettled(WAIT)).as("not ready: it failed").isFalse();
      assertThat(prealloc(s).failures()).isEqualTo(1);
      s.log().append(bigs(1, 10, 17)); // rolls into a new, unpreallocated segment
      s.log().sync();
      assertThat(s.segmentedLog().preparedRolls()).isZero();
      assertThat(Files.size(s.segmentedLog().segmentFiles().get(1))).as("zeroed ahead by the writer").isEqualTo(SEG);

      // Tried again for the next segment (the failure removed the empty directory).
      s.log().append(bigs(1, 18, 25));
      awaitReady(s);
      s.log().append(bigs(1, 26, 33));
      assertThat(s.segmentedLog().preparedRolls()).isEqualTo(1);
      assertThat(Files.size(s.segmentedLog().segmentFiles().get(2))).isEqualTo(SEG);
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 33));
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(readAll(s)).containsExactlyElementsOf(bigs(1, 1, 33));
    }
  }

  @Test
  void shouldGiveUpTheTruncatedSegmentsPreallocation() throws Exception {
    final Path seg;
    try (FileRaftStorage s = open(dir)) {
      fillFirstSegmentAndRollIntoPrepared(s);
      s.log().append(bigs(1, 18, 22));
      s.log().sync();
      seg = s.segmentedLog().segmentFiles().get(1);
      s.log().truncateSuffix(20);
      assertThat(Files.size(seg)).isEqualTo(offsetIn(17, 20));
      s.log().append(entries(2, 20, 21));
      s.log().sync();
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().read(17, 22, Long.MAX_VALUE))
          .containsExactlyElementsOf(concat(bigs(1, 17, 19), entries(2, 20, 21)));
    }
  }

  /**
   * A segment not made from a prepared file is zeroed ahead by the writer in 1 MiB steps, so
   * that only one group commit per step changes the file's size; the zeros are a clean end on
   * reopen, records written over them survive it, and a torn record in them is cut off.
   */
  @Test
  void shouldZeroAheadOfTheRecordsOfAnUnpreparedSegmentInSteps() throws Exception {
    final int segBytes = 8 << 20;
    final int step = Segment.ZERO_AHEAD_BYTES;
    final int perStep = (step - Segment.HEADER_BYTES) / RECORD; // records that fit in the first step
    final Path seg;
    try (FileRaftStorage s = FileRaftStorage.open(dir, segBytes, true)) {
      s.log().append(bigs(1, 1, 10));
      s.log().sync();
      seg = s.segmentedLog().segmentFiles().get(0);
      assertThat(Files.size(seg)).as("one step of zeros after 10 records").isEqualTo(step);

      s.log().append(bigs(1, 11, perStep));
      assertThat(Files.size(seg)).as("still within the first step").isEqualTo(step);
      s.log().append(bigs(1, perStep + 1, perStep + 1));
      assertThat(Files.size(seg)).as("the record that crosses the step extends by one more").isEqualTo(2L * step);
      s.log().sync();
      s.log().append(bigs(1, perStep + 2, perStep + 5)); // not synced
    }
    try (FileRaftStorage s = FileRaftStorage.open(dir, segBytes, true)) {
      assertThat(s.recoveryWarnings()).as("the zeros are the clean end").isEmpty();
      assertThat(s.log().read(1, perStep + 6, Long.MAX_VALUE)).containsExactlyElementsOf(bigs(1, 1, perStep + 5));
      assertThat(Files.size(seg)).as("the zeros are kept").isEqualTo(2L * step);
    }
    // A crash that left a torn record in the zeros: cut off there, with a warning.
    final long end = offsetIn(1, perStep + 6);
    writeByte(seg, end, 40);
    writeByte(seg, end + 7, 1);
    try (FileRaftStorage s = FileRaftStorage.open(dir, segBytes, true)) {
      assertThat(s.recoveryWarnings()).singleElement().asString().contains("offset=" + end);
      assertThat(Files.size(seg)).as("cut at the torn record").isEqualTo(end);
      assertThat(s.log().read(1, perStep + 6, Long.MAX_VALUE)).containsExactlyElementsOf(bigs(1, 1, perStep + 5));
      s.log().append(bigs(1, perStep + 6, perStep + 6));
      assertThat(Files.size(seg)).as("zeroed ahead again from the cut").isEqualTo(2L * step);
      s.log().sync();
    }
    try (FileRaftStorage s = FileRaftStorage.open(dir, segBytes, true)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().read(1, perStep + 7, Long.MAX_VALUE)).containsExactlyElementsOf(bigs(1, 1, perStep + 6));
    }
    // Off: the file ends where the records do.
    try (FileRaftStorage s = FileRaftStorage.open(dir.resolve("off"), segBytes, false)) {
      s.log().append(bigs(1, 1, 10));
      s.log().sync();
      assertThat(Files.size(s.segmentedLog().segmentFiles().get(0))).isEqualTo(offsetIn(1, 11));
    }
  }

  @Test
  void shouldTurnPreallocationOffAndRefuseABadValue() throws IOException {
    try (RaftStorage s = openWith(dir.resolve("off"), "false")) {
      assertThat(((FileRaftStorage) s).segmentedLog().preallocator()).isNull();
    }
    try (RaftStorage s = openWith(dir.resolve("on"), " TRUE ")) {
      assertThat(((FileRaftStorage) s).segmentedLog().preallocator()).isNotNull();
    }
    assertThatThrownBy(() -> openWith(dir.resolve("bad"), "yes"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(FileStorage.PREALLOCATE_OPTION + "=yes");
  }

  private static RaftStorage openWith(final Path d, final String preallocate) throws IOException {
    return Providers.storage(FileStorage.NAME)
        .open(new StorageContext(1, "prealloc", d, Map.of(FileStorage.PREALLOCATE_OPTION, preallocate)));
  }

  /**
   * Faults injected into a crash image whose last segment is preallocated (some entries synced,
   * more written): zeros over a random range after the synced end (pages lost), or one flipped
   * bit anywhere after the header, the zero tail included. Each is either repaired (every synced
   * entry there, everything served intact) or refused (damage before the synced end) naming the
   * file; and after a repair, entries appended and synced are exactly what a reopen finds (no
   * stale record comes back).
   */
  @ParameterizedTest(name = "seed={0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
  void shouldRepairOrRefuseEveryFaultInAPreallocatedSegment(final long seed) throws Exception {
    final SplittableRandom random = new SplittableRandom(seed);
    final Path live = dir.resolve("live");
    final Path crashed = dir.resolve("crashed");
    final long first;
    final long synced;
    final long written;
    final long syncedEnd;
    final Path seg;
    try (FileRaftStorage s = open(live)) {
      fillFirstSegmentAndRollIntoPrepared(s);
      first = 17;
      synced = first + random.nextInt(60); // small records: up to ~270 fit in the segment
      written = synced + 1 + random.nextInt(60);
      s.log().append(entries(1, first + 1, synced));
      s.log().sync();
      seg = s.segmentedLog().segmentFiles().get(1);
      syncedEnd = recordsEnd(first, synced);
      s.log().append(entries(1, synced + 1, written));
      assertThat(s.segmentedLog().segmentFiles()).hasSize(2);
      copyAsCrashed(live, crashed);
    }
    final Path crashedSeg = crashed.resolve("log").resolve(seg.getFileName());
    final long writtenEnd = recordsEnd(first, written);
    final boolean lostPages = random.nextBoolean();
    final long at;
    if (lostPages) {
      at = syncedEnd + random.nextLong(writtenEnd - syncedEnd);
      zero(crashedSeg, at, Math.min(SEG, at + 1 + random.nextLong(SEG - at)));
    } else {
      at = Segment.HEADER_BYTES + random.nextLong(SEG - Segment.HEADER_BYTES);
      flipBit(crashedSeg, at, random.nextInt(8));
    }
    final String fault = (lostPages ? "zeros from " : "bit flipped at ") + at + ", syncedEnd=" + syncedEnd;

    final FileRaftStorage s;
    try {
      s = open(crashed);
    } catch (final IOException e) {
      assertThat(lostPages).as("lost pages after the synced end must be repaired: %s", fault).isFalse();
      assertThat(at).as("refused only for damage before the synced end: %s", fault).isLessThan(syncedEnd);
      assertThat(e).hasMessageContaining("file=" + crashedSeg);
      return;
    }
    final long last;
    try (s) {
      assertThat(at).as("damage before the synced end must be refused: %s", fault).isGreaterThanOrEqualTo(syncedEnd);
      final List<Entry> all = readAll(s);
      assertThat(all.size()).as(fault).isBetween((int) synced, (int) written);
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).index()).isEqualTo(i + 1);
        assertThat(TckEntries.isIntact(all.get(i))).as("%s: %s intact", fault, all.get(i)).isTrue();
      }
      last = s.log().lastLogId().index();
      s.log().append(List.of(entry(1, last + 1, 3), entry(1, last + 2, 3)));
      s.log().sync();
    }
    try (FileRaftStorage again = open(crashed)) {
      assertThat(again.recoveryWarnings()).as(fault).isEmpty();
      assertThat(again.log().lastLogId()).as(fault).isEqualTo(LogId.of(1, last + 2));
    }
  }

  /** The end of the record of {@code index} in a segment of bigs(first) then small entries. */
  private static long recordsEnd(final long first, final long index) {
    long end = offsetIn(first, first + 1);
    for (long i = first + 1; i <= index; i++) {
      end += Segment.RECORD_HEADER_BYTES + entry(1, i).payload().length;
    }
    return end;
  }

}
