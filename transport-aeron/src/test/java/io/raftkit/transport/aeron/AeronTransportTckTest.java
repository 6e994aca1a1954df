package io.raftkit.transport.aeron;

import io.raftkit.testkit.transport.TransportTck;

/** The transport conformance suite against {@code "aeron"} over loopback UDP, one embedded driver per node. */
class AeronTransportTckTest extends TransportTck {

  @Override
  protected String providerName() {
    return AeronTransportProvider.NAME;
  }

  @Override
  protected String bindAddress(final long nodeId) {
    return "127.0.0.1:0";
  }
}
