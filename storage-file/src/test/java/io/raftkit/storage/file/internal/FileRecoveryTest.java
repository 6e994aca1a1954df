package io.raftkit.storage.file.internal;

import static io.raftkit.testkit.storage.TckEntries.entries;
import static io.raftkit.testkit.storage.TckEntries.entry;
import static io.raftkit.storage.file.internal.FileBytes.appendBytes;
import static io.raftkit.storage.file.internal.FileBytes.copyAsCrashed;
import static io.raftkit.storage.file.internal.FileBytes.flipBit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.testkit.storage.TckEntries;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Recovery of the file store from torn writes and damaged bytes: a torn tail is cut off with a
 * warning naming the file and offset; damage before the synced end is refused, naming the file
 * and offset; damaged data is never served.
 */
class FileRecoveryTest {

  @TempDir Path dir;

  private FileRaftStorage open(final Path d) throws IOException {
    return FileRaftStorage.open(d, 64 * 1024 * 1024, false); // the unpreallocated layout: FilePreallocationTest has the other
  }

  private static long recordBytes(final Entry e) {
    return Segment.RECORD_HEADER_BYTES + e.payload().length;
  }

  /** The offset of entry {@code index} in a single-segment log of {@code entries(1, 1, n)}. */
  private static long offsetOf(final long index) {
    long off = Segment.HEADER_BYTES;
    for (long i = 1; i < index; i++) {
      off += recordBytes(entry(1, i));
    }
    return off;
  }

  private Path onlySegment(final Path d) throws IOException {
    final List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(d.resolve("log"), "*.seg")) {
      ds.forEach(out::add);
    }
    assertThat(out).hasSize(1);
    return out.get(0);
  }

  @Test
  void shouldCutATornTailWithAWarningNamingFileAndOffset() throws IOException {
    try (FileRaftStorage s = open(dir)) {
      s.log().append(entries(1, 1, 10));
    }
    final Path seg = onlySegment(dir);
    final long end = Files.size(seg);
    appendBytes(seg, new byte[] {0, 0, 0, 40, 1, 2, 3}); // a record header cut short

    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).singleElement().asString()
          .contains("file=" + seg)
          .contains("offset=" + end);
      assertThat(s.log().read(1, 11, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 10));
      s.log().append(entries(1, 11, 11));
    }
    try (FileRaftStorage s = open(dir)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 11));
    }
  }

  @Test
  void shouldKeepWholeUnsyncedRecordsAndCutTheTornOneAfterACrash() throws IOException {
    final Path crashed;
    try (FileRaftStorage s = open(dir)) {
      s.log().append(entries(1, 1, 5));
      s.log().sync();
      s.log().append(entries(1, 6, 8)); // written, not synced
      crashed = copyAsCrashed(dir, dir.resolveSibling(dir.getFileName() + "-crashed"));
    }
    final Path seg = onlySegment(crashed);
    final long tornAt = offsetOf(8) + 10;
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      f.setLength(tornAt); // entry 8 was half written
    }

    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.recoveryWarnings()).singleElement().asString().contains("offset=" + offsetOf(8));
      assertThat(s.log().read(1, 8, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 7));
    }
  }

  @Test
  void shouldRefuseToOpenOnABadChecksumBeforeTheSyncedEnd() throws IOException {
    try (FileRaftStorage s = open(dir)) {
      s.log().append(entries(1, 1, 10));
      s.log().sync();
    }
    final Path seg = onlySegment(dir);
    flipBit(seg, offsetOf(5) + Segment.RECORD_HEADER_BYTES + 3, 2); // in entry 5's payload

    assertThatThrownBy(() -> open(dir))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("file=" + seg)
        .hasMessageContaining("offset=" + offsetOf(5))
        .hasMessageContaining("checksum");
    assertThat(Files.size(seg)).as("nothing cut").isEqualTo(offsetOf(11));
  }

  @Test
  void shouldRefuseDamageInASealedSegment() throws IOException {
    try (FileRaftStorage s = FileRaftStorage.open(dir, 4096)) {
      for (long i = 1; i <= 200; i += 10) {
        s.log().append(entries(1, i, i + 9));
      }
    }
    final List<Path> segs;
    try (FileRaftStorage s = FileRaftStorage.open(dir, 4096)) {
      segs = s.segmentedLog().segmentFiles();
    }
    assertThat(segs.size()).isGreaterThan(2);
    flipBit(segs.get(0), Segment.HEADER_BYTES + 30, 0);

    assertThatThrownBy(() -> FileRaftStorage.open(dir, 4096))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("file=" + segs.get(0))
        .hasMessageContaining("offset=" + Segment.HEADER_BYTES);
  }

  @Test
  void shouldRefuseAMissingSegmentInTheMiddle() throws IOException {
    final List<Path> segs;
    try (FileRaftStorage s = FileRaftStorage.open(dir, 4096)) {
      for (long i = 1; i <= 200; i += 10) {
        s.log().append(entries(1, i, i + 9));
      }
      segs = s.segmentedLog().segmentFiles();
    }
    Files.delete(segs.get(1));

    assertThatThrownBy(() -> FileRaftStorage.open(dir, 4096))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("file=" + segs.get(2));
  }

  @Test
  void shouldNeverServeARecordDamagedWhileOpen() throws IOException {
    try (FileRaftStorage s = open(dir)) {
      s.log().append(entries(1, 1, 10));
      s.log().sync();
      flipBit(onlySegment(dir), offsetOf(3) + Segment.RECORD_HEADER_BYTES, 7);

      assertThatThrownBy(() -> s.log().read(1, 11, Long.MAX_VALUE))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("offset=" + offsetOf(3));
      assertThat(s.log().read(4, 11, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 4, 10));
    }
  }

  @Test
  void shouldRefuseACorruptStateFile() throws IOException {
    try (FileRaftStorage s = open(dir)) {
      s.saveVote(new Vote(3, 1, false));
    }
    flipBit(dir.resolve("state"), 14, 1);

    assertThatThrownBy(() -> open(dir)).isInstanceOf(IOException.class).hasMessageContaining("state");
  }

  @Test
  void shouldDeleteOnlyWholeSegmentsOnPurge() throws IOException {
    try (FileRaftStorage s = FileRaftStorage.open(dir, 4096)) {
      for (long i = 1; i <= 200; i += 10) {
        s.log().append(entries(1, i, i + 9));
      }
      final List<Path> before = s.segmentedLog().segmentFiles();
      final long secondFirst = Segment.parseFirstIndex(before.get(1).getFileName().toString());

      s.log().purgePrefix(LogId.of(1, secondFirst)); // all of segment 0, the first entry of segment 1

      final List<Path> after = s.segmentedLog().segmentFiles();
      assertThat(after).isEqualTo(before.subList(1, before.size()));
      assertThat(Files.exists(before.get(0))).isFalse();
      assertThat(s.log().read(secondFirst + 1, 201, Long.MAX_VALUE))
          .containsExactlyElementsOf(entries(1, secondFirst + 1, 200));
    }
  }

  @Test
  void shouldRemoveASegmentWhoseCreationWasInterrupted() throws IOException {
    try (FileRaftStorage s = open(dir)) {
      s.log().append(entries(1, 1, 3));
    }
    final Path leftover = dir.resolve("log").resolve(Segment.fileName(4) + ".tmp");
    Files.write(leftover, new byte[] {1, 2, 3});

    try (FileRaftStorage s = open(dir)) {
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 3));
      assertThat(Files.exists(leftover)).isFalse();
    }
  }

  /**
   * Faults injected into a crash image (the files as a kill -9 would leave them: some entries
   * synced, more written): a torn write at a random point after the synced end, or one flipped
   * bit anywhere after the header. Each is either repaired (every synced entry there, everything
   * served intact) or refused with an error naming the segment file; never served as data.
   */
  @ParameterizedTest(name = "seed={0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
  void shouldRepairOrRefuseEveryInjectedFault(final long seed) throws IOException {
    final SplittableRandom random = new SplittableRandom(seed);
    final int synced = 5 + random.nextInt(30);
    final int written = synced + 1 + random.nextInt(30);
    final Path crashed = dir.resolve("crashed");
    final long syncedEnd;
    try (FileRaftStorage s = open(dir.resolve("live"))) {
      s.log().append(entries(1, 1, synced));
      s.log().sync();
      syncedEnd = offsetOf(synced + 1);
      s.log().append(entries(1, synced + 1, written));
      copyAsCrashed(dir.resolve("live"), crashed);
    }
    final Path seg = onlySegment(crashed);
    final long size = Files.size(seg);
    final boolean torn = random.nextBoolean();
    final long at;
    if (torn) {
      at = syncedEnd + random.nextLong(size - syncedEnd);
      try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
        f.setLength(at);
      }
    } else {
      at = Segment.HEADER_BYTES + random.nextLong(size - Segment.HEADER_BYTES);
      flipBit(seg, at, random.nextInt(8));
    }
    final String fault = (torn ? "torn at " : "bit flipped at ") + at + ", syncedEnd=" + syncedEnd;

    final FileRaftStorage s;
    try {
      s = open(crashed);
    } catch (final IOException e) {
      assertThat(torn).as("a torn tail must be repaired, not refused: %s", fault).isFalse();
      assertThat(at).as("refused only for damage before the synced end: %s", fault).isLessThan(syncedEnd);
      assertThat(e).hasMessageContaining("file=" + seg);
      return;
    }
    try (s) {
      assertThat(at).as("damage before the synced end must be refused: %s", fault).isGreaterThanOrEqualTo(syncedEnd);
      final List<Entry> all = s.log().read(1, s.log().lastLogId().index() + 1, Long.MAX_VALUE);
      assertThat(all.size()).as(fault).isBetween(synced, written);
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).index()).isEqualTo(i + 1);
        assertThat(TckEntries.isIntact(all.get(i))).as("%s: %s intact", fault, all.get(i)).isTrue();
      }
    }
  }
}
