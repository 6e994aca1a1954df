package io.raftkit.transport.netty;

import io.raftkit.testkit.transport.TransportTck;

/** The transport conformance suite against {@code "netty"} over loopback TCP. */
class NettyTransportTckTest extends TransportTck {

  @Override
  protected String providerName() {
    return NettyTransportProvider.NAME;
  }

  @Override
  protected String bindAddress(final long nodeId) {
    return "127.0.0.1:0";
  }
}
