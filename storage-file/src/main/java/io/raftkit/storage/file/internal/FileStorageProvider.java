package io.raftkit.storage.file.internal;

import io.raftkit.api.spi.DataDirIdentity;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.api.spi.StorageProvider;
import io.raftkit.storage.file.FileStorage;
import java.io.IOException;

/**
 * The storage provider {@code "file"}: opens a node's {@link FileRaftStorage} in its data
 * directory. Public with a public no-argument constructor for {@link java.util.ServiceLoader}.
 */
public final class FileStorageProvider implements StorageProvider {

  /** Creates the provider; called by {@link java.util.ServiceLoader}. */
  public FileStorageProvider() {}

  /** {@inheritDoc} */
  @Override
  public String name() {
    return FileStorage.NAME;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IOException if the data directory belongs to another node or cluster (see {@link
   *     DataDirIdentity}), if no data directory is configured, an option is invalid, the store is
   *     open already, or it is corrupt; the message names the file or option
   */
  @Override
  public RaftStorage open(final StorageContext context) throws IOException {
    if (context.dataDir() == null) {
      throw new IOException(
          "storage provider '" + FileStorage.NAME + "' needs a data directory, but nodeId=" + context.nodeId()
              + " has dataDir=null; set one with RaftBuilder.dataDir(...)");
    }
    final String raw =
        context.option(FileStorage.SEGMENT_BYTES_OPTION, String.valueOf(FileStorage.DEFAULT_SEGMENT_BYTES));
    final int segmentBytes;
    try {
      segmentBytes = Integer.parseInt(raw.trim());
    } catch (final NumberFormatException e) {
      throw new IOException("option " + FileStorage.SEGMENT_BYTES_OPTION + "=" + raw + " is not an integer", e);
    }
    if (segmentBytes < FileStorage.MIN_SEGMENT_BYTES || segmentBytes > FileStorage.MAX_SEGMENT_BYTES) {
      throw new IOException("option " + FileStorage.SEGMENT_BYTES_OPTION + "=" + segmentBytes + " must be within ["
          + FileStorage.MIN_SEGMENT_BYTES + ", " + FileStorage.MAX_SEGMENT_BYTES + "]");
    }
    final String rawPreallocate = context.option(FileStorage.PREALLOCATE_OPTION, "true").trim();
    final boolean preallocate;
    if (rawPreallocate.equalsIgnoreCase("true")) {
      preallocate = true;
    } else if (rawPreallocate.equalsIgnoreCase("false")) {
      preallocate = false;
    } else {
      throw new IOException(
          "option " + FileStorage.PREALLOCATE_OPTION + "=" + rawPreallocate + " must be true or false");
    }
    // Another node's or cluster's directory is refused before anything in it changes, and again
    // once the store holds the directory's lock, which is when a new directory is claimed.
    DataDirIdentity.verify(context.dataDir(), context);
    final FileRaftStorage storage = FileRaftStorage.open(context.dataDir(), segmentBytes, preallocate);
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
    return "FileStorageProvider{name=" + FileStorage.NAME + "}";
  }
}
