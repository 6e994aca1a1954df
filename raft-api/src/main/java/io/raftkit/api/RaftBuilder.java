package io.raftkit.api;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftEngineProvider;
import io.raftkit.api.spi.RaftSetup;
import io.raftkit.api.spi.StateMachine;
import io.raftkit.api.spi.StorageProvider;
import io.raftkit.api.spi.TransportProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds and starts a {@link Raft} node. Storage and transport are chosen by provider name and
 * found with {@link java.util.ServiceLoader}; an unknown name fails in {@link #build()} with the
 * names that were found. Not thread-safe.
 *
 * @param <R> what the state machine returns for a write
 */
public final class RaftBuilder<R> {
  private long nodeId;
  private Config config = Config.defaults();
  private StateMachine<R> stateMachine;
  private String storage = "memory";
  private String transport;
  private String engine = "default";
  private Path dataDir;
  private String bindAddress;
  private final Map<String, String> options = new LinkedHashMap<>();

  RaftBuilder() {}

  /** The node's id, {@code > 0}, unique in the cluster and stable across restarts. */
  public RaftBuilder<R> nodeId(final long nodeId) {
    this.nodeId = nodeId;
    return this;
  }

  /** The config; {@link Config#defaults()} if not set. */
  public RaftBuilder<R> config(final Config config) {
    this.config = config;
    return this;
  }

  /** The application's state machine. Required. */
  public RaftBuilder<R> stateMachine(final StateMachine<R> stateMachine) {
    this.stateMachine = stateMachine;
    return this;
  }

  /** The storage provider's name ({@code "memory"} if not set). */
  public RaftBuilder<R> storage(final String providerName) {
    this.storage = providerName;
    return this;
  }

  /** The transport provider's name. Required. */
  public RaftBuilder<R> transport(final String providerName) {
    this.transport = providerName;
    return this;
  }

  /** The engine provider's name ({@code "default"} if not set). */
  public RaftBuilder<R> engine(final String providerName) {
    this.engine = providerName;
    return this;
  }

  /** The node's data directory, for durable storage providers. */
  public RaftBuilder<R> dataDir(final Path dataDir) {
    this.dataDir = dataDir;
    return this;
  }

  /** Where the transport listens, in its address syntax. Required. */
  public RaftBuilder<R> bindAddress(final String bindAddress) {
    this.bindAddress = bindAddress;
    return this;
  }

  /** A provider option, by convention prefixed with the provider's name. */
  public RaftBuilder<R> option(final String key, final String value) {
    if (key == null || value == null) {
      throw new ConfigException("option", "option key and value must not be null: " + key + "=" + value);
    }
    options.put(key, value);
    return this;
  }

  /**
   * Validates the settings, finds the providers, opens storage, starts the transport and the
   * node.
   *
   * @throws ConfigException naming the setting that is missing or wrong (a {@link
   *     io.raftkit.api.error.ProviderNotFoundException} for an unknown provider name)
   * @throws UncheckedIOException if storage or transport cannot be opened
   */
  public Raft<R> build() {
    if (nodeId <= 0) {
      throw new ConfigException("nodeId", "nodeId=" + nodeId + " must be > 0");
    }
    if (config == null) {
      throw new ConfigException("config", "config must not be null");
    }
    if (stateMachine == null) {
      throw new ConfigException("stateMachine", "stateMachine must be set");
    }
    if (transport == null) {
      throw new ConfigException("transport", "transport provider name must be set");
    }
    if (bindAddress == null || bindAddress.isBlank()) {
      throw new ConfigException("bindAddress", "bindAddress must be set");
    }
    final StorageProvider storageProvider = Providers.storage(storage);
    final TransportProvider transportProvider = Providers.transport(transport);
    final RaftEngineProvider engineProvider = Providers.engine(engine);
    try {
      return engineProvider.start(
          new RaftSetup<>(
              nodeId,
              config,
              stateMachine,
              storageProvider,
              transportProvider,
              dataDir,
              bindAddress,
              options));
    } catch (final IOException e) {
      throw new UncheckedIOException("node " + nodeId + " could not start: " + e.getMessage(), e);
    }
  }
}
