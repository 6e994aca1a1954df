package io.raftkit.storage.rocksdb.internal;

import io.raftkit.storage.rocksdb.RocksDbStorage;
import io.raftkit.testkit.storage.DataDirIdentityTck;

/** The {@code "rocksdb"} provider refuses a data directory of another node or cluster. */
class RocksDbDataDirIdentityTest extends DataDirIdentityTck {

  @Override
  protected String providerName() {
    return RocksDbStorage.NAME;
  }
}
