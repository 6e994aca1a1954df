package io.raftkit.storage.file.internal;

import static io.raftkit.storage.file.internal.FileBytes.copyAsCrashed;
import static io.raftkit.testkit.storage.TckEntries.entries;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a purge reaches the state file: at once if it deletes a segment file, else before the next
 * segment is created or on close. In between a crash may bring purged entries back (the {@code
 * LogStore} contract allows it) but never leaves a log that recovery calls corrupt.
 */
class FilePurgeRecordTest {

  @TempDir Path dir;

  private static FileRaftStorage open(final Path d) throws IOException {
    return FileRaftStorage.open(d, 4096, false);
  }

  private static LogId recordedPurge(final Path d) throws IOException {
    return StateFile.read(d).purged();
  }

  @Test
  void shouldLeaveAPurgeThatDeletesNoFileOutOfTheStateFileUntilClose() throws IOException {
    final Path live = dir.resolve("live");
    final Path crashed = dir.resolve("crashed");
    try (FileRaftStorage s = open(live)) {
      s.log().append(entries(1, 1, 10)); // one segment
      s.log().sync();
      s.log().purgePrefix(LogId.of(1, 5));
      assertThat(s.log().purgedLogId()).isEqualTo(LogId.of(1, 5));
      assertThat(recordedPurge(live)).as("not written for a purge inside a segment").isEqualTo(LogId.ZERO);
      copyAsCrashed(live, crashed);
    }
    assertThat(recordedPurge(live)).as("written on close").isEqualTo(LogId.of(1, 5));
    try (FileRaftStorage s = open(live)) {
      assertThat(s.log().purgedLogId()).isEqualTo(LogId.of(1, 5));
      assertThat(s.log().read(6, 11, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 6, 10));
    }
    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.recoveryWarnings()).isEmpty();
      assertThat(s.log().purgedLogId()).as("the purged entries came back").isEqualTo(LogId.ZERO);
      assertThat(s.log().read(1, 11, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 10));
    }
  }

  @Test
  void shouldRecordAPurgeBeforeItDeletesASegmentFile() throws IOException {
    try (FileRaftStorage s = open(dir)) {
      for (long i = 1; i <= 200; i += 10) {
        s.log().append(entries(1, i, i + 9));
      }
      final long secondFirst =
          Segment.parseFirstIndex(s.segmentedLog().segmentFiles().get(1).getFileName().toString());
      s.log().purgePrefix(LogId.of(1, secondFirst - 1)); // exactly segment 0
      assertThat(recordedPurge(dir)).isEqualTo(LogId.of(1, secondFirst - 1));
    }
  }

  @Test
  void shouldRecordAPurgePastAnEmptyLogBeforeTheNextSegmentIsCreated() throws IOException {
    final Path live = dir.resolve("live");
    final Path crashed = dir.resolve("crashed");
    try (FileRaftStorage s = open(live)) {
      s.log().purgePrefix(LogId.of(4, 20)); // as after installing a snapshot: no file to delete
      assertThat(recordedPurge(live)).isEqualTo(LogId.ZERO);
      s.log().append(entries(4, 21, 22)); // creates log-21: the purge must be on disk first
      assertThat(recordedPurge(live)).isEqualTo(LogId.of(4, 20));
      s.log().sync();
      copyAsCrashed(live, crashed);
    }
    try (FileRaftStorage s = open(crashed)) {
      assertThat(s.log().purgedLogId()).isEqualTo(LogId.of(4, 20));
      assertThat(s.log().read(21, 23, Long.MAX_VALUE)).containsExactlyElementsOf(entries(4, 21, 22));
    }
  }
}
