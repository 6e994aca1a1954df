package io.raftkit.testkit.storage;

import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.storage.memory.MemoryStores;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs the storage TCK against the {@code "memory"} provider. A directory maps to a named store
 * (the name is the directory's path), which outlives a close like files do.
 */
class MemoryStorageTckTest extends StorageTck {

  private static String storeName(final Path dir) {
    return "tck-" + dir;
  }

  @Override
  protected RaftStorage open(final Path dir) throws IOException {
    return Providers.storage("memory")
        .open(new StorageContext(1, "tck", dir, Map.of(MemoryStores.NAME_OPTION, storeName(dir))));
  }

  @Override
  protected void destroy(final Path dir) {
    MemoryStores.drop(storeName(dir));
  }
}
