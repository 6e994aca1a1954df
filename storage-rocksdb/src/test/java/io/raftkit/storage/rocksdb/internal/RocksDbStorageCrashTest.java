package io.raftkit.storage.rocksdb.internal;

import io.raftkit.storage.rocksdb.RocksDbStorage;
import io.raftkit.testkit.storage.StorageCrashTck;

/** Kills a child JVM appending to a {@code "rocksdb"} store. */
class RocksDbStorageCrashTest extends StorageCrashTck {

  @Override
  protected String providerName() {
    return RocksDbStorage.NAME;
  }
}
