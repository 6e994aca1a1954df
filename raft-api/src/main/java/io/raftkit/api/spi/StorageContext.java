package io.raftkit.api.spi;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * What a storage provider is told when it opens a node's storage.
 *
 * @param nodeId the node
 * @param clusterId the cluster the node belongs to
 * @param dataDir the node's data directory, or {@code null} if none was configured (a provider
 *     that needs one fails with a message saying so)
 * @param options provider options, by convention prefixed with the provider name ({@code
 *     "memory.name"})
 */
public record StorageContext(
    long nodeId, String clusterId, Path dataDir, Map<String, String> options) {

  /** Validates and copies the fields. */
  public StorageContext {
    Objects.requireNonNull(clusterId, "clusterId");
    options = Map.copyOf(options);
  }

  /** The value of an option, or {@code fallback} if it is not set. */
  public String option(final String key, final String fallback) {
    return options.getOrDefault(key, fallback);
  }
}
