/**
 * The volatile storage provider {@code "memory"}: the log, the vote and the snapshots of a node
 * kept in this JVM's heap.
 *
 * <p>With the option {@value io.raftkit.storage.memory.MemoryStores#NAME_OPTION} a node's store
 * outlives a close, so a node can be stopped and started again (a restart); {@link
 * io.raftkit.storage.memory.MemoryStores} lets tests simulate power loss and hold syncs. The
 * provider itself lives in a package this module does not export.
 */
module io.raftkit.storage.memory {
  requires transitive io.raftkit.api;

  exports io.raftkit.storage.memory;

  provides io.raftkit.api.spi.StorageProvider with
      io.raftkit.storage.memory.internal.MemoryStorageProvider;
}
