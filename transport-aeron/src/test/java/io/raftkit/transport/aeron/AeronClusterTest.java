package io.raftkit.transport.aeron;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.storage.memory.MemoryStores;
import io.raftkit.testkit.TestCluster;
import io.raftkit.testkit.transport.ClusterScenario;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real 3-node cluster (engine, memory or file storage) talking over the aeron transport on
 * loopback UDP, one embedded media driver per node.
 */
class AeronClusterTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldElectTakeFiveThousandWritesAndFailOverWithMemoryStorage() throws Exception {
    try (TestCluster cluster =
        TestCluster.builder()
            .size(3)
            .transport(AeronTransportProvider.NAME)
            .afterClose(c -> c.storeNames().forEach(MemoryStores::drop))
            .build()
            .start()) {
      electWriteAndFailOver(cluster);
    }
  }

  @Test
  void shouldElectTakeFiveThousandWritesAndFailOverWithFileStorage(@TempDir final Path root) throws Exception {
    try (TestCluster cluster =
        TestCluster.builder().size(3).transport(AeronTransportProvider.NAME).storage("file").dataRoot(root).build()
            .start()) {
      electWriteAndFailOver(cluster);
    }
  }

  @Test
  void shouldElectTakeFiveThousandWritesAndFailOverWithRocksDbStorage(@TempDir final Path root) throws Exception {
    try (TestCluster cluster =
        TestCluster.builder().size(3).transport(AeronTransportProvider.NAME).storage("rocksdb").dataRoot(root).build()
            .start()) {
      electWriteAndFailOver(cluster);
    }
  }

  private static void electWriteAndFailOver(final TestCluster cluster) throws Exception {
    ClusterScenario.electWriteAndFailOver(cluster, TIMEOUT);
  }
}
