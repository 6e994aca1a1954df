package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code raft-kv serve} on a data directory of another node id or another cluster: it does not
 * start, exits 1 and says which node and cluster the directory belongs to and which it was given.
 */
class DataDirIdentityKvTest {

  @TempDir Path root;

  private static Map<Long, Peer> peers() {
    final List<Integer> ports = FreePorts.pick(4);
    final Map<Long, Peer> peers = new TreeMap<>();
    for (int i = 0; i < 2; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(2 + i)));
    }
    return peers;
  }

  private static String peerList(final Map<Long, Peer> peers) {
    final StringBuilder b = new StringBuilder();
    peers.values().forEach(p -> b.append(b.length() == 0 ? "" : ",").append(p.id()).append('=')
        .append(p.raftAddress()).append('@').append(p.httpAddress()));
    return b.toString();
  }

  /** Runs {@code serve}; it must return (a started node would serve until stopped). */
  private static String serveExpectingFailure(final String... args) throws Exception {
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final CompletableFuture<Integer> code = CompletableFuture.supplyAsync(
        () -> Main.run(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8)));
    assertThat(code.get(60, TimeUnit.SECONDS)).as("exit code; stderr: %s", err).isEqualTo(Main.EXIT_FAILED);
    return err.toString(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(strings = {"file", "rocksdb"})
  void shouldRefuseTheDataDirectoryOfAnotherNode(final String storage) throws Exception {
    final Map<Long, Peer> peers = peers();
    final Path data = root.resolve("node1");
    KvNode.start(KvNode.Settings.of(1, "netty", storage, data, peers)).close();

    final String err = serveExpectingFailure(
        "serve", "--id", "2", "--peers", peerList(peers), "--data", data.toString(), "--storage", storage);

    assertThat(err).startsWith("raft-kv: node 2 could not start: data directory " + data + " belongs to")
        .doesNotContain("could not start: node");
    assertThat(err).contains("node 2 could not start", "data directory " + data,
        "belongs to nodeId=1 of clusterId=" + KvNode.CLUSTER_ID,
        "started as nodeId=2 of clusterId=" + KvNode.CLUSTER_ID);
    // Still node 1's: it starts there.
    KvNode.start(KvNode.Settings.of(1, "netty", storage, data, peers)).close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"file", "rocksdb"})
  void shouldRefuseTheDataDirectoryOfAnotherCluster(final String storage) throws Exception {
    final Map<Long, Peer> peers = peers();
    final Path data = root.resolve("other-cluster-node1");
    KvNode.start(KvNode.Settings.of(1, "netty", storage, data, peers),
        Config.builder().clusterId("another-kv").build()).close();

    final String err = serveExpectingFailure(
        "serve", "--id", "1", "--peers", peerList(peers), "--data", data.toString(), "--storage", storage);

    assertThat(err).contains("node 1 could not start", "belongs to nodeId=1 of clusterId=another-kv",
        "started as nodeId=1 of clusterId=" + KvNode.CLUSTER_ID, "another cluster's data");
  }
}
