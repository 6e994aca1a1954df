package io.raftkit.storage.file.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.storage.file.FileStorage;
import io.raftkit.testkit.storage.StorageTck;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;

/**
 * Runs the storage TCK against the {@code "file"} provider with small segments (16 KiB) and
 * preallocation on, so that rolls into prepared files (and into files made while one is still
 * being prepared) happen many times per test; checks at the end that some did. (4 KiB segments
 * pass too, but the suite took three times as long: every roll forces three times.)
 */
class FilePreallocatedStorageTckTest extends StorageTck {

  private static final List<FileRaftStorage> OPENED = new CopyOnWriteArrayList<>();

  @Override
  protected RaftStorage open(final Path dir) throws IOException {
    final RaftStorage s = Providers.storage(FileStorage.NAME)
        .open(new StorageContext(1, "tck", dir, Map.of(
            FileStorage.SEGMENT_BYTES_OPTION, String.valueOf(16 * 1024),
            FileStorage.PREALLOCATE_OPTION, "true")));
    OPENED.add((FileRaftStorage) s);
    return s;
  }

  @AfterAll
  static void shouldHaveRolledIntoPreparedFiles() {
    int rolls = 0;
    for (final FileRaftStorage s : OPENED) {
      rolls += s.segmentedLog().preparedRolls();
    }
    OPENED.clear();
    assertThat(rolls).as("rolls into prepared segment files over the suite").isPositive();
  }
}
