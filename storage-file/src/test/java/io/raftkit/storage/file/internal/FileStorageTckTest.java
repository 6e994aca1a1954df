package io.raftkit.storage.file.internal;

import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.storage.file.FileStorage;
import io.raftkit.testkit.storage.StorageTck;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs the storage TCK against the {@code "file"} provider, with 64 KiB segments to cross many
 * boundaries and preallocation off (segments made as they are needed; {@link
 * FilePreallocatedStorageTckTest} runs it with preallocation on).
 */
class FileStorageTckTest extends StorageTck {

  @Override
  protected RaftStorage open(final Path dir) throws IOException {
    return Providers.storage(FileStorage.NAME)
        .open(new StorageContext(1, "tck", dir, Map.of(
            FileStorage.SEGMENT_BYTES_OPTION, String.valueOf(64 * 1024),
            FileStorage.PREALLOCATE_OPTION, "false")));
  }
}
