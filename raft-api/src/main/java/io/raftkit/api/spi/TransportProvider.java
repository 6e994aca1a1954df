package io.raftkit.api.spi;

import java.io.IOException;

/** Creates a node's transport. Found with {@link java.util.ServiceLoader} by {@link #name()}. */
public interface TransportProvider {

  /** The stable name users select this provider by, such as {@code "netty"} or {@code "local"}. */
  String name();

  /** The SPI version this provider was built against; see {@link Providers#API_VERSION}. */
  default int apiVersion() {
    return Providers.API_VERSION;
  }

  /**
   * Creates and starts a transport: from now on it serves inbound requests to {@link
   * TransportContext#handler()}.
   *
   * @throws IOException if it cannot bind or start; the message names the address
   */
  Transport create(TransportContext context) throws IOException;
}
