/**
 * Snapshot files and file-system helpers shared by the durable storage providers. {@link
 * io.raftkit.storage.support.FileSnapshotStore} is the {@link io.raftkit.api.spi.SnapshotStore} of
 * both {@code "file"} and {@code "rocksdb"} (the layout of one snapshot file is in {@code
 * SnapshotFiles}); {@link io.raftkit.storage.support.Fs} has the positional full reads and writes,
 * directory sync and atomic replace they both rely on. Both providers run the storage conformance
 * suite over this code.
 */
package io.raftkit.storage.support;
