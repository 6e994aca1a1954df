package io.raftkit.testkit.local;

import io.raftkit.testkit.LocalNetwork;
import io.raftkit.testkit.transport.TransportTck;
import java.util.Map;

/** The transport conformance suite against {@code "local"}, on a fresh network per case. */
class LocalTransportTckTest extends TransportTck {

  private LocalNetwork network;

  @Override
  protected String providerName() {
    return LocalNetwork.PROVIDER_NAME;
  }

  @Override
  protected String bindAddress(final long nodeId) {
    return "node" + nodeId;
  }

  @Override
  protected Map<String, String> options() {
    return Map.of(LocalNetwork.NETWORK_OPTION, network.name());
  }

  @Override
  protected void openEnvironment() {
    network = LocalNetwork.create();
  }

  @Override
  protected void closeEnvironment() {
    network.close();
  }
}
