/**
 * The implementation of the {@code "rocksdb"} storage provider ({@link
 * io.raftkit.storage.rocksdb.internal.RocksRaftStorage}) and its snapshot files ({@link
 * io.raftkit.storage.support.FileSnapshotStore}, shared with {@code "file"} in {@code
 * storage-support}). Not exported.
 */
package io.raftkit.storage.rocksdb.internal;
