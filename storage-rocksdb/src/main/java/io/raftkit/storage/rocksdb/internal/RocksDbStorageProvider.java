package io.raftkit.storage.rocksdb.internal;

import io.raftkit.api.spi.DataDirIdentity;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.api.spi.StorageProvider;
import io.raftkit.storage.rocksdb.RocksDbStorage;
import java.io.IOException;

/**
 * The storage provider {@code "rocksdb"}: opens a node's {@link RocksRaftStorage} in its data
 * directory. Public with a public no-argument constructor for {@link java.util.ServiceLoader}.
 */
public final class RocksDbStorageProvider implements StorageProvider {

  /** Creates the provider; called by {@link java.util.ServiceLoader}. */
  public RocksDbStorageProvider() {}

  /** {@inheritDoc} */
  @Override
  public String name() {
    return RocksDbStorage.NAME;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IOException if the data directory belongs to another node or cluster (see {@link
   *     DataDirIdentity}), if no data directory is configured, or the database cannot be opened
   *     (open already, corrupt); the message names the directory
   */
  @Override
  public RaftStorage open(final StorageContext context) throws IOException {
    if (context.dataDir() == null) {
      throw new IOException(
          "storage provider '" + RocksDbStorage.NAME + "' needs a data directory, but nodeId=" + context.nodeId()
              + " has dataDir=null; set one with RaftBuilder.dataDir(...)");
    }
    // Another node's or cluster's directory is refused before anything in it changes, and again
    // once the store holds the directory's lock, which is when a new directory is claimed.
    DataDirIdentity.verify(context.dataDir(), context);
    final RocksRaftStorage storage = RocksRaftStorage.open(context.dataDir());
    try {
      DataDirIdentity.verifyOrRecord(context.dataDir(), context);
    } catch (final IOException | RuntimeException e) {
      try {
        storage.close();
      } catch (final IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return storage;
  }

  @Override
  public String toString() {
    return "RocksDbStorageProvider{name=" + RocksDbStorage.NAME + "}";
  }
}
