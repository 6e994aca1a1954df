package io.raftkit.storage.rocksdb;

/**
 * The {@code "rocksdb"} storage provider: its name and on-disk layout.
 *
 * <pre>{@code
 * Raft.<Long>builder().storage(RocksDbStorage.NAME).dataDir(Path.of("/var/lib/raft/node1"))...
 * }</pre>
 *
 * <p>A node's data directory holds {@code IDENTITY} (the node id and cluster id it belongs to: a
 * node of another id or cluster is refused, see {@link io.raftkit.api.spi.DataDirIdentity}), {@code
 * rocksdb/} (the database: column family {@code log}
 * keyed by the 8-byte big-endian entry index, column family {@code meta} with the vote, the
 * purged id and the committed hint) and {@code snapshots/} (one file per snapshot, written to a
 * temporary name, forced and renamed).
 */
public final class RocksDbStorage {

  /** The provider's name. */
  public static final String NAME = "rocksdb";

  private RocksDbStorage() {}
}
