package io.raftkit.transport.netty;

import io.netty.util.ResourceLeakDetector;
import io.raftkit.testkit.transport.TransportRoundTripMeasurement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Round trips per second over netty; only with {@code -Draftkit.measure=true}.
 *
 * <p>This module's tests run with {@code -Dio.netty.leakDetectionLevel=paranoid} (the pom), which
 * records a stack trace for every buffer: it held this measurement to 13-14k round trips a second
 * with 64 in flight, votes or appends alike. The measurement turns leak tracking off for its class
 * and puts the level back after it.
 */
class NettyRoundTripMeasurementTest extends TransportRoundTripMeasurement {

  private static ResourceLeakDetector.Level saved;

  @BeforeAll
  static void noLeakTracking() {
    saved = ResourceLeakDetector.getLevel();
    if (!Boolean.getBoolean("raftkit.measure")) {
      return; // not measuring: the other tests' setting stays untouched
    }
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
  }

  @AfterAll
  static void restoreLeakTracking() {
    ResourceLeakDetector.setLevel(saved);
  }

  @Override
  protected String providerName() {
    return NettyTransportProvider.NAME;
  }
}
