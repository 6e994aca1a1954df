package io.raftkit.storage.rocksdb.internal;

import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.storage.rocksdb.RocksDbStorage;
import io.raftkit.testkit.storage.StorageTck;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Runs the storage TCK against the {@code "rocksdb"} provider. */
class RocksDbStorageTckTest extends StorageTck {

  @Override
  protected RaftStorage open(final Path dir) throws IOException {
    return Providers.storage(RocksDbStorage.NAME).open(new StorageContext(1, "tck", dir, Map.of()));
  }
}
