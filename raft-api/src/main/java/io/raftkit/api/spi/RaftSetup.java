package io.raftkit.api.spi;

import io.raftkit.api.Config;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Everything {@link io.raftkit.api.RaftBuilder} gathered for one node.
 *
 * @param nodeId the node, {@code > 0}
 * @param config the validated config
 * @param stateMachine the application's state machine
 * @param storage the resolved storage provider
 * @param transport the resolved transport provider
 * @param dataDir the data directory, or {@code null}
 * @param bindAddress where the transport listens
 * @param options provider options
 * @param <R> the state machine's result type
 */
public record RaftSetup<R>(
    long nodeId,
    Config config,
    StateMachine<R> stateMachine,
    StorageProvider storage,
    TransportProvider transport,
    Path dataDir,
    String bindAddress,
    Map<String, String> options) {

  /** Validates and copies the fields. */
  public RaftSetup {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(stateMachine, "stateMachine");
    Objects.requireNonNull(storage, "storage");
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(bindAddress, "bindAddress");
    options = Map.copyOf(options);
  }
}
