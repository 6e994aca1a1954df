package io.raftkit.transport.aeron;

import io.raftkit.testkit.transport.TransportRoundTripMeasurement;

/** Round trips per second over aeron (one embedded media driver per node); only with {@code -Draftkit.measure=true}. */
class AeronRoundTripMeasurementTest extends TransportRoundTripMeasurement {

  @Override
  protected String providerName() {
    return AeronTransportProvider.NAME;
  }
}
