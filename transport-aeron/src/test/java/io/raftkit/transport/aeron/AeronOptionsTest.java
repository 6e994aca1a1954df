package io.raftkit.transport.aeron;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.spi.TransportContext;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** How {@code aeron.mtu} is read and which MTU a publication to each kind of peer gets. */
class AeronOptionsTest {

  @Test
  void shouldSendWholeDatagramsToLoopbackPeersAndEthernetSizedOnesElsewhereByDefault() {
    final AeronOptions options = options(Map.of());
    assertThat(options.mtuFor("127.0.0.1")).isEqualTo(AeronOptions.MTU_MAX);
    assertThat(options.mtuFor("127.1.2.3")).isEqualTo(AeronOptions.MTU_MAX);
    assertThat(options.mtuFor("localhost")).isEqualTo(AeronOptions.MTU_MAX);
    assertThat(options.mtuFor("LocalHost")).isEqualTo(AeronOptions.MTU_MAX);
    assertThat(options.mtuFor("::1")).isEqualTo(AeronOptions.MTU_MAX);

    assertThat(options.mtuFor("10.0.0.5")).isEqualTo(AeronOptions.MTU_NETWORK);
    assertThat(options.mtuFor("raft-1.example.com")).isEqualTo(AeronOptions.MTU_NETWORK);
    assertThat(options.mtuFor("127.example.com")).isEqualTo(AeronOptions.MTU_NETWORK);
    assertThat(options.mtuFor("fe80::1")).isEqualTo(AeronOptions.MTU_NETWORK);
    assertThat(options(Map.of(AeronOptions.MTU, "auto")).mtuFor("127.0.0.1")).isEqualTo(AeronOptions.MTU_MAX);
  }

  @Test
  void shouldKeepTheLoopbackMtuWithinTheLargestMessageOfASmallTerm() {
    final AeronOptions options = options(Map.of(AeronOptions.TERM_LENGTH, "65536"));
    assertThat(options.mtuFor("127.0.0.1")).isEqualTo(65536 / 8);
    assertThat(options.mtuFor("10.0.0.5")).isEqualTo(AeronOptions.MTU_NETWORK);
  }

  @Test
  void shouldUseAnExplicitMtuForEveryPeer() {
    final AeronOptions options = options(Map.of(AeronOptions.MTU, "8192"));
    assertThat(options.mtuFor("127.0.0.1")).isEqualTo(8192);
    assertThat(options.mtuFor("10.0.0.5")).isEqualTo(8192);
  }

  @Test
  void shouldPutTheMtuIntoTheChannelOfUdpPublicationsOnly() {
    final HostPort peer = HostPort.parse("127.0.0.1:9000");
    assertThat(TransportAgent.publicationChannel(options(Map.of()), peer))
        .startsWith("aeron:udp?")
        .contains("endpoint=127.0.0.1:9000")
        .contains("mtu=65504");
    assertThat(TransportAgent.publicationChannel(options(Map.of()), HostPort.parse("10.0.0.5:9000")))
        .contains("mtu=1408");
    assertThat(TransportAgent.publicationChannel(options(Map.of(AeronOptions.IPC, "true")), peer))
        .startsWith("aeron:ipc")
        .doesNotContain("mtu=");
  }

  @Test
  void shouldRefuseABadMtuNamingTheOption() {
    assertRefused(Map.of(AeronOptions.MTU, "big"), "aeron.mtu=big is not an integer");
    assertRefused(Map.of(AeronOptions.MTU, "512"), "aeron.mtu=512 must be in [1024, 65504]");
    assertRefused(Map.of(AeronOptions.MTU, "65536"), "aeron.mtu=65536 must be in [1024, 65504]");
    assertRefused(Map.of(AeronOptions.MTU, "4100"), "aeron.mtu=4100 must be a multiple of 32");
    assertRefused(Map.of(AeronOptions.MTU, "16384", AeronOptions.TERM_LENGTH, "65536"),
        "aeron.mtu=16384 must be in [1024, 8192]");
  }

  private static void assertRefused(final Map<String, String> raw, final String message) {
    assertThatThrownBy(() -> options(raw))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(message)
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo(AeronOptions.MTU));
  }

  private static AeronOptions options(final Map<String, String> raw) {
    return AeronOptions.from(
        new TransportContext(
            1,
            "test",
            "127.0.0.1:0",
            (from, request) -> CompletableFuture.completedFuture(AppendResponse.success(request.term(), 0)),
            Duration.ofSeconds(1),
            raw));
  }
}
