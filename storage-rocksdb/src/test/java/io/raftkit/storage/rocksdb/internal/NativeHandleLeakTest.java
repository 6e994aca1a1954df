package io.raftkit.storage.rocksdb.internal;

import static io.raftkit.testkit.storage.TckEntries.entries;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening and closing a store 100 times must not leak native resources. RocksDB holds a file
 * descriptor for each open file (LOCK, WAL, MANIFEST, info LOG, SST files): a handle not closed
 * keeps its database's descriptors, so counting {@code /proc/self/fd} catches it.
 */
class NativeHandleLeakTest {

  @TempDir Path dir;

  private static long openFds() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  private RaftStorage open() throws IOException {
    return new RocksDbStorageProvider().open(new StorageContext(1, "leak", dir, Map.of()));
  }

  @Test
  void shouldLeakNoFileDescriptorsOverAHundredOpenCloseCycles() throws IOException {
    try (RaftStorage warmUp = open()) {
      warmUp.log().append(entries(1, 1, 10));
      warmUp.log().sync();
    }
    final long before = openFds();
    for (int i = 0; i < 100; i++) {
      try (RaftStorage s = open()) {
        final long next = s.log().lastLogId().index() + 1;
        s.log().append(entries(1, next, next + 4));
        s.log().read(1, next + 5, Long.MAX_VALUE);
        s.saveVote(new Vote(1 + i, 1, false));
        s.log().sync();
      }
    }
    final long after = openFds();

    // One leaked database keeps at least 3 descriptors open (LOCK, WAL, MANIFEST): 100 cycles
    // would leak hundreds. A few may come and go with unrelated JVM activity.
    assertThat(after - before).as("open fds before=%d after=%d", before, after).isLessThan(10);
    try (RaftStorage s = open()) {
      assertThat(s.log().lastLogId()).isEqualTo(LogId.of(1, 510));
      assertThat(s.readVote()).isEqualTo(new Vote(100, 1, false));
    }
  }
}
