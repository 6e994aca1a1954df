package io.raftkit.transport.aeron;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The reply-address check that keeps name resolution off the duty-cycle thread. */
class TransportAgentTest {

  @Test
  void shouldAcceptOnlyIpLiteralsAsReplyHosts() {
    assertThat(TransportAgent.isIpLiteral("127.0.0.1")).isTrue();
    assertThat(TransportAgent.isIpLiteral("10.255.0.9")).isTrue();
    assertThat(TransportAgent.isIpLiteral("::1")).isTrue();
    assertThat(TransportAgent.isIpLiteral("fe80::1:2")).isTrue();
    assertThat(TransportAgent.isIpLiteral("2001:db8:0:0:0:0:0:1")).isTrue();

    assertThat(TransportAgent.isIpLiteral("localhost")).isFalse();
    assertThat(TransportAgent.isIpLiteral("127.0.0.256")).isFalse();
    assertThat(TransportAgent.isIpLiteral("127.0.0")).isFalse();
    assertThat(TransportAgent.isIpLiteral("127.0..1")).isFalse();
    assertThat(TransportAgent.isIpLiteral("12790.0.1")).isFalse();
    assertThat(TransportAgent.isIpLiteral("127.0.0.1:394")).isFalse();
    assertThat(TransportAgent.isIpLiteral("127.0:0.1")).isFalse();
    assertThat(TransportAgent.isIpLiteral("1:2")).isFalse();
    assertThat(TransportAgent.isIpLiteral("1::2::3")).isFalse();
    assertThat(TransportAgent.isIpLiteral("12345::1")).isFalse();
  }
}
