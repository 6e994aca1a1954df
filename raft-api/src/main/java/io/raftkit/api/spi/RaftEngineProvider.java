package io.raftkit.api.spi;

import io.raftkit.api.Raft;

/**
 * Creates {@link Raft} nodes. Implemented by raft-engine; found by {@link
 * io.raftkit.api.RaftBuilder#build()} with {@link java.util.ServiceLoader}.
 */
public interface RaftEngineProvider {

  /** The engine's name, {@code "default"} for raft-engine. */
  String name();

  /** The SPI version this provider was built against; see {@link Providers#API_VERSION}. */
  default int apiVersion() {
    return Providers.API_VERSION;
  }

  /**
   * Opens the storage, creates the transport and starts a node.
   *
   * @param setup everything the builder gathered, already validated
   * @param <R> the state machine's result type
   * @return the running node
   * @throws java.io.IOException if storage or transport cannot be opened
   */
  <R> Raft<R> start(RaftSetup<R> setup) throws java.io.IOException;
}
