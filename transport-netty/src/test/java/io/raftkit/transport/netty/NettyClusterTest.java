package io.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.storage.memory.MemoryStores;
import io.raftkit.testkit.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real 3-node cluster (engine; memory, file or rocksdb storage) talking over the netty transport
 * on loopback.
 */
class NettyClusterTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final int WINDOW = 256;

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
    assertThat(cluster.address(1)).startsWith("127.0.0.1:");
    cluster.initialize();
    final Raft<Long> first = cluster.awaitLeader(TIMEOUT);

    final long lastBefore = writePipelined(cluster, 5_000, 0);
    cluster.awaitApplied(lastBefore, TIMEOUT);
    assertConverged(cluster, 5_000);

    cluster.stop(first.nodeId());
    final Raft<Long> second = cluster.awaitLeader(TIMEOUT);
    assertThat(second.nodeId()).isNotEqualTo(first.nodeId());
    final long lastAfter = writePipelined(cluster, 500, 5_000);

    cluster.start(first.nodeId());
    cluster.awaitApplied(lastAfter, TIMEOUT);
    assertConverged(cluster, 5_500);
  }

  /**
   * Writes {@code n} commands through the leader with up to {@link #WINDOW} in flight; a write
   * refused by a deposed leader is retried through the next one (it may then apply twice, which
   * the digest check tolerates since every node applies the same log).
   */
  private static long writePipelined(final TestCluster cluster, final int n, final int offset) throws Exception {
    long last = 0;
    for (int start = 0; start < n; start += WINDOW) {
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final List<CompletableFuture<WriteResult<Long>>> window = new ArrayList<>();
      final int end = Math.min(n, start + WINDOW);
      for (int i = start; i < end; i++) {
        window.add(leader.write(command(offset + i)));
      }
      for (int i = start; i < end; i++) {
        try {
          last = Math.max(last, window.get(i - start).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).logId().index());
        } catch (final ExecutionException e) {
          if (!(e.getCause() instanceof NotLeaderException)) {
            throw e;
          }
          last = Math.max(last, writeOne(cluster, command(offset + i)));
        }
      }
    }
    return last;
  }

  private static long writeOne(final TestCluster cluster, final byte[] command) throws Exception {
    final long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      try {
        return cluster.awaitLeader(TIMEOUT).write(command).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).logId().index();
      } catch (final ExecutionException e) {
        if (!(e.getCause() instanceof NotLeaderException) || System.nanoTime() - deadline > 0) {
          throw e;
        }
      }
    }
  }

  private static byte[] command(final int i) {
    return new byte[] {(byte) i, (byte) (i >> 8), (byte) (i >> 16), 42};
  }

  private static void assertConverged(final TestCluster cluster, final long minApplied) {
    final Set<Long> digests = new HashSet<>();
    for (final long id : cluster.nodeIds()) {
      assertThat(cluster.stateMachine(id).appliedCount()).as("applied on node %d", id)
          .isGreaterThanOrEqualTo(minApplied);
      digests.add(cluster.stateMachine(id).digest());
    }
    assertThat(digests).as("digests: %s", cluster.describe()).hasSize(1);
  }
}
