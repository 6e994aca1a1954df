/**
 * The storage provider {@code "file"}: a node's log in segmented, checksummed, fsynced files,
 * its vote in an atomically replaced state file, and its snapshots as files.
 *
 * <p>{@link io.raftkit.storage.file.FileStorage} names the provider and its options; the provider
 * itself lives in a package this module does not export.
 */
module io.raftkit.storage.file {
  requires transitive io.raftkit.api;
  requires io.raftkit.storage.support;
  requires org.slf4j;

  exports io.raftkit.storage.file;

  provides io.raftkit.api.spi.StorageProvider with
      io.raftkit.storage.file.internal.FileStorageProvider;
}
