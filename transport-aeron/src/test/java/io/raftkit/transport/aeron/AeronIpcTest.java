package io.raftkit.transport.aeron;

import static org.assertj.core.api.Assertions.assertThat;

import io.aeron.driver.MediaDriver;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two nodes in one process over Aeron IPC, attached to one external (here: test-launched) media driver. */
class AeronIpcTest {

  @Test
  void shouldServeRequestsOverIpcThroughASharedExternalDriver(@TempDir final Path dir) throws Exception {
    try (MediaDriver driver = TestDrivers.launch(dir.resolve("driver"))) {
      final Map<String, String> options =
          Map.of(AeronOptions.EMBEDDED, "false", AeronOptions.DIR, driver.aeronDirectoryName(), AeronOptions.IPC,
              "true");
      final ConcurrentLinkedQueue<RaftRequest> received = new ConcurrentLinkedQueue<>();
      try (Transport n1 = start(1, "127.0.0.1:101", options, received);
          Transport n2 = start(2, "127.0.0.1:102", options, received)) {
        final byte[] payload = new byte[3 << 20];
        new Random(3).nextBytes(payload);
        final AppendRequest append =
            new AppendRequest(2, 1, LogId.of(1, 7), List.of(Entry.normal(LogId.of(2, 8), payload)), 7);

        assertThat(n1.send(2, n2.localAddress(), new VoteRequest(4, 1, LogId.ZERO, true)))
            .succeedsWithin(Duration.ofSeconds(30))
            .isEqualTo(new VoteResponse(4, true, true));
        assertThat(n2.send(1, n1.localAddress(), append))
            .succeedsWithin(Duration.ofSeconds(30))
            .isEqualTo(AppendResponse.success(2, 8));
        assertThat(received).contains(append);
      }
    }
  }

  private static Transport start(final long id, final String address, final Map<String, String> options,
      final ConcurrentLinkedQueue<RaftRequest> received) throws Exception {
    return new AeronTransportProvider()
        .create(
            new TransportContext(
                id,
                "ipc",
                address,
                (from, r) -> {
                  received.add(r);
                  return CompletableFuture.completedFuture(
                      r.kind() == RaftRequest.Kind.VOTE
                          ? new VoteResponse(r.term(), true, ((VoteRequest) r).preVote())
                          : AppendResponse.success(r.term(), ((AppendRequest) r).lastLogId().index()));
                },
                Duration.ofSeconds(30),
                options));
  }
}
