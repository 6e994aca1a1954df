package io.raftkit.storage.rocksdb.internal;

import io.raftkit.storage.rocksdb.RocksDbStorage;
import io.raftkit.testkit.storage.StorageClusterTck;

/** Three nodes on {@code "rocksdb"} storage, written to and restarted. */
class RocksDbClusterTest extends StorageClusterTck {

  @Override
  protected String providerName() {
    return RocksDbStorage.NAME;
  }
}
