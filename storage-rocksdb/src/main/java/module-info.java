/**
 * The storage provider {@code "rocksdb"}: a node's log and metadata in a RocksDB database, its
 * snapshots as files beside it.
 *
 * <p>{@link io.raftkit.storage.rocksdb.RocksDbStorage} names the provider; the provider itself
 * lives in a package this module does not export. RocksDB's jar is an automatic module named
 * {@code rocksdbjni}; it needs no JVM flags.
 */
module io.raftkit.storage.rocksdb {
  requires transitive io.raftkit.api;
  requires io.raftkit.storage.support;
  requires org.slf4j;
  requires rocksdbjni;

  exports io.raftkit.storage.rocksdb;

  provides io.raftkit.api.spi.StorageProvider with
      io.raftkit.storage.rocksdb.internal.RocksDbStorageProvider;
}
