package io.raftkit.testkit.local;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import java.io.IOException;

/**
 * The transport provider {@code "local"}: nodes in one JVM talk through a {@link Network} named by
 * the option {@value #NETWORK_OPTION}. Public with a public no-argument constructor for {@link
 * java.util.ServiceLoader}.
 */
public final class LocalTransportProvider implements TransportProvider {

  /** The provider's name. */
  public static final String NAME = "local";

  /** The transport option naming the network to join. */
  public static final String NETWORK_OPTION = "local.network";

  /** Creates the provider; called by {@link java.util.ServiceLoader}. */
  public LocalTransportProvider() {}

  /** {@inheritDoc} */
  @Override
  public String name() {
    return NAME;
  }

  /**
   * {@inheritDoc}
   *
   * @throws ConfigException if the option {@value #NETWORK_OPTION} is missing or names no open
   *     network
   * @throws IOException if the bind address is blank or already bound in the network
   */
  @Override
  public Transport create(final TransportContext context) throws IOException {
    final String networkName = context.option(NETWORK_OPTION, null);
    if (networkName == null) {
      throw new ConfigException(
          NETWORK_OPTION,
          "transport '" + NAME + "' needs option " + NETWORK_OPTION
              + "=<LocalNetwork.name()>, but it is not set (nodeId=" + context.nodeId() + ")");
    }
    final Network network =
        Network.lookup(networkName)
            .orElseThrow(
                () ->
                    new ConfigException(
                        NETWORK_OPTION,
                        NETWORK_OPTION + "=" + networkName + " names no open network (open: " + Network.names()
                            + "; nodeId=" + context.nodeId() + ")"));
    if (context.bindAddress().isBlank()) {
      throw new IOException(
          "bindAddress must not be blank in network=" + networkName + " (nodeId=" + context.nodeId() + ")");
    }
    return network.bind(context);
  }

  @Override
  public String toString() {
    return "LocalTransportProvider{name=" + NAME + "}";
  }
}
