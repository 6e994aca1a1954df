/**
 * The name and the layout of the {@code "rocksdb"} storage provider ({@link
 * io.raftkit.storage.rocksdb.RocksDbStorage}).
 */
package io.raftkit.storage.rocksdb;
