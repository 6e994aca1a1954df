package io.raftkit.transport.aeron;

import static org.assertj.core.api.Assertions.assertThat;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.raftkit.api.LogId;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The MTU a live publication really uses, read from the media driver's counters (their labels carry
 * each publication's channel): not only what {@link AeronOptions#mtuFor} computes.
 */
class AeronMtuInUseTest {

  @ParameterizedTest(name = "aeron.mtu={0} -> {1}")
  @CsvSource({"auto, |mtu=65504|", "1408, |mtu=1408|", "8192, |mtu=8k|"}) // the channel writes 8192 as 8k
  void shouldOpenPublicationsToALoopbackPeerWithTheChosenMtu(final String mtu, final String expected,
      @TempDir final Path dir) throws Exception {
    try (MediaDriver driver = TestDrivers.launch(dir.resolve("driver"))) {
      final Map<String, String> options = new HashMap<>(
          Map.of(AeronOptions.EMBEDDED, "false", AeronOptions.DIR, driver.aeronDirectoryName()));
      options.put(AeronOptions.MTU, mtu);
      options.put(AeronOptions.STREAM_ID, "7");
      try (Transport n1 = start(1, options);
          Transport n2 = start(2, options);
          Aeron reader = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()))) {
        assertThat(n1.send(2, n2.localAddress(), new VoteRequest(4, 1, LogId.ZERO, true)))
            .succeedsWithin(Duration.ofSeconds(30))
            .isEqualTo(new VoteResponse(4, true, true));

        final List<String> publications = new ArrayList<>();
        reader.countersReader().forEach((id, typeId, key, label) -> {
          if (label.startsWith("pub-lmt") && label.contains("aeron:udp")) {
            publications.add(label);
          }
        });
        // n1's publication to n2 and n2's to n1 (the reply path), both to 127.0.0.1.
        assertThat(publications).hasSize(2).allSatisfy(label -> assertThat(label).contains(expected));
      }
    }
  }

  private static Transport start(final long id, final Map<String, String> options) throws Exception {
    return new AeronTransportProvider()
        .create(
            new TransportContext(
                id,
                "mtu",
                "127.0.0.1:0",
                (from, r) -> CompletableFuture.completedFuture(new VoteResponse(4, true, true)),
                Duration.ofSeconds(30),
                options));
  }
}
