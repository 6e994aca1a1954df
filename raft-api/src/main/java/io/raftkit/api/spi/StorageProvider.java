package io.raftkit.api.spi;

import java.io.IOException;

/**
 * Opens the durable state of a node. Found with {@link java.util.ServiceLoader} by {@link
 * #name()}.
 *
 * <p>The engine's runtime does batching and group commit: it calls {@link LogStore#append} many
 * times and {@link LogStore#sync} once. A simple provider can stay simple.
 */
public interface StorageProvider {

  /** The stable name users select this provider by, such as {@code "memory"} or {@code "file"}. */
  String name();

  /** The SPI version this provider was built against; see {@link Providers#API_VERSION}. */
  default int apiVersion() {
    return Providers.API_VERSION;
  }

  /**
   * Opens (creating if needed) the storage of one node.
   *
   * @param context the node's id, data directory and options
   * @return the open storage, owned by the caller who must close it
   * @throws IOException if the storage cannot be opened, including when it is open already (in
   *     this process or another); the message names the file or option
   */
  RaftStorage open(StorageContext context) throws IOException;
}
