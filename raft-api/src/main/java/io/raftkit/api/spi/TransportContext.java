package io.raftkit.api.spi;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What a transport provider is told when it creates a node's transport.
 *
 * @param nodeId the local node
 * @param clusterId the cluster; the transport refuses peers of another cluster
 * @param bindAddress where to listen, in the provider's address syntax
 * @param handler where inbound requests go
 * @param rpcTimeout how long a request may wait for its response before its future fails
 * @param options provider options, by convention prefixed with the provider name
 */
public record TransportContext(
    long nodeId,
    String clusterId,
    String bindAddress,
    RequestHandler handler,
    Duration rpcTimeout,
    Map<String, String> options) {

  /** Validates and copies the fields. */
  public TransportContext {
    Objects.requireNonNull(clusterId, "clusterId");
    Objects.requireNonNull(bindAddress, "bindAddress");
    Objects.requireNonNull(handler, "handler");
    Objects.requireNonNull(rpcTimeout, "rpcTimeout");
    options = Map.copyOf(options);
  }

  /** The value of an option, or {@code fallback} if it is not set. */
  public String option(final String key, final String fallback) {
    return options.getOrDefault(key, fallback);
  }
}
