package io.raftkit.transport.netty;

import io.raftkit.testkit.transport.TransportRoundTripMeasurement;

/** Round trips per second over netty; only with {@code -Draftkit.measure=true}. */
class NettyRoundTripMeasurementTest extends TransportRoundTripMeasurement {

  @Override
  protected String providerName() {
    return NettyTransportProvider.NAME;
  }
}
