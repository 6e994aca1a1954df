package io.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.storage.memory.MemoryStores;
import io.raftkit.testkit.TestCluster;
import io.raftkit.testkit.transport.ClusterScenario;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real 3-node cluster (engine; memory, file or rocksdb storage) talking over the netty transport
 * on loopback.
 */
class NettyClusterTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldElectTakeFiveThousandWritesAndFailOver() throws Exception {
    try (TestCluster cluster =
        TestCluster.builder()
            .size(3)
            .transport(NettyTransportProvider.NAME)
            .afterClose(c -> c.storeNames().forEach(MemoryStores::drop))
            .build()
            .start()) {
      electWriteAndFailOver(cluster);
    }
  }

  @Test
  void shouldElectTakeFiveThousandWritesAndFailOverWithFileStorage(@TempDir final Path root) throws Exception {
    try (TestCluster cluster =
        TestCluster.builder().size(3).transport(NettyTransportProvider.NAME).storage("file").dataRoot(root).build()
            .start()) {
      electWriteAndFailOver(cluster);
    }
  }

  @Test
  void shouldElectTakeFiveThousandWritesAndFailOverWithRocksDbStorage(@TempDir final Path root) throws Exception {
    try (TestCluster cluster =
        TestCluster.builder().size(3).transport(NettyTransportProvider.NAME).storage("rocksdb").dataRoot(root)
            .build().start()) {
      electWriteAndFailOver(cluster);
    }
  }

  @Test
  void shouldElectWriteAndFailOverOverMutualTls() throws Exception {
    // Every node presents node1's PEM certificate (TestCluster gives all nodes the same options);
    // NettyTlsTest covers distinct and refused certificates.
    final TestCluster.Builder builder =
        TestCluster.builder()
            .size(3)
            .transport(NettyTransportProvider.NAME)
            .option(NettyOptions.TLS_REQUIRED, "true")
            .afterClose(c -> c.storeNames().forEach(MemoryStores::drop));
    NettyTlsTest.pem().forEach(builder::option);
    try (TestCluster cluster = builder.build().start()) {
      electWriteAndFailOver(cluster);
      // The options reached the transports: a plain-text node of the same cluster is refused.
      final Transport plain = new NettyTransportProvider().create(new TransportContext(9, cluster.config().clusterId(),
          "127.0.0.1:0", (from, r) -> new CompletableFuture<>(), TIMEOUT, Map.of()));
      try {
        assertThat(plain.send(1, cluster.address(1), new VoteRequest(1, 9, LogId.ZERO, false)))
            .failsWithin(TIMEOUT)
            .withThrowableOfType(ExecutionException.class)
            .withCauseInstanceOf(UnreachableException.class);
      } finally {
        plain.close();
      }
    }
  }

  private static void electWriteAndFailOver(final TestCluster cluster) throws Exception {
    ClusterScenario.electWriteAndFailOver(cluster, TIMEOUT);
  }
}
