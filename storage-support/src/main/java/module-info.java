/**
 * What the durable storage providers ({@code storage-file}, {@code storage-rocksdb}) share:
 * snapshots as checksummed files in a directory ({@link io.raftkit.storage.support.FileSnapshotStore})
 * and file-system helpers ({@link io.raftkit.storage.support.Fs}). Not an API: its one package is
 * exported to those two modules only, and may change with them.
 */
module io.raftkit.storage.support {
  requires transitive io.raftkit.api;

  exports io.raftkit.storage.support to
      io.raftkit.storage.file,
      io.raftkit.storage.rocksdb;
}
