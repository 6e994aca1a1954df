package io.raftkit.transport.aeron;

import java.util.Map;

/**
 * The transport conformance suite again with Aeron's Ethernet-sized MTU ({@code aeron.mtu=1408}),
 * the default to a peer that is not on loopback: every append of more than a few entries then
 * travels as several datagrams, which the loopback default (one datagram) never exercises.
 */
class AeronNetworkMtuTckTest extends AeronTransportTckTest {

  @Override
  protected Map<String, String> options() {
    return Map.of(AeronOptions.MTU, Integer.toString(AeronOptions.MTU_NETWORK));
  }
}
