package io.raftkit.testkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.api.WriteResult;
import io.raftkit.testkit.DigestStateMachine;
import io.raftkit.testkit.TestCluster;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Cluster tests over a storage provider: three nodes of a {@link TestCluster} with the provider
 * under test and a data directory each, written to and restarted (one follower, the leader, then
 * every node), and after each restart every node's state machine must agree with the others and
 * hold every acknowledged write.
 *
 * <p>The test's module or class path needs raft-engine and the provider. Subclasses give the
 * provider's name, and may give options.
 */
public abstract class StorageClusterTck {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** For subclasses. */
  protected StorageClusterTck() {}

  /**
   * The name of the storage provider under test.
   *
   * @return the name
   */
  protected abstract String providerName();

  /**
   * Provider options given to every node.
   *
   * @return the options; none by default
   */
  protected Map<String, String> options() {
    return Map.of();
  }

  /**
   * Writes, restarts a follower, the leader and then every node, and checks after each step that
   * the nodes agree and keep every acknowledged write.
   *
   * @throws Exception on a failed write or wait
   */
  @Test
  public void shouldKeepEveryAcknowledgedWriteAcrossRestarts() throws Exception {
    final Path root = Files.createTempDirectory("raftkit-storage-cluster-");
    try {
      final TestCluster.Builder builder = TestCluster.builder().size(3).storage(providerName()).dataRoot(root);
      options().forEach(builder::option);
      try (TestCluster cluster = builder.build().start()) {
        cluster.initialize();
        final SplittableRandom random = new SplittableRandom(5);
        long acked = writeMany(cluster, 200, random);
        assertAgree(cluster, acked);
        for (final long id : cluster.nodeIds()) {
          try (var files = Files.walk(root.resolve("node" + id))) {
            assertThat(files.filter(Files::isRegularFile).mapToLong(StorageClusterTck::size).sum())
                .as("bytes the provider wrote under the data directory of node %d", id)
                .isGreaterThan(200L * 100);
          }
        }

        final long leaderId = cluster.awaitLeader(TIMEOUT).nodeId();
        final long followerId = leaderId % 3 + 1;
        cluster.restart(followerId);
        assertAgree(cluster, acked);

        cluster.restart(leaderId);
        acked += writeMany(cluster, 100, random);
        assertAgree(cluster, acked);

        for (final long id : cluster.nodeIds()) {
          cluster.stop(id);
        }
        cluster.start();
        acked += writeMany(cluster, 10, random);
        assertAgree(cluster, acked);
      }
    } finally {
      deleteRecursively(root);
    }
  }

  /** Writes {@code n} commands through the leader; returns how many were acknowledged. */
  private static long writeMany(final TestCluster cluster, final int n, final SplittableRandom random)
      throws InterruptedException {
    final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
    final List<CompletableFuture<WriteResult<Long>>> futures = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      final byte[] command = new byte[random.nextInt(10) == 0 ? 20_000 : 1 + random.nextInt(300)];
      random.nextBytes(command);
      futures.add(leader.write(command));
    }
    long acked = 0;
    for (final CompletableFuture<WriteResult<Long>> f : futures) {
      try {
        f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        acked++;
      } catch (final ExecutionException | java.util.concurrent.TimeoutException e) {
        // A leader change can fail a write; the agreement check below still holds.
      }
    }
    assertThat(acked).as("acknowledged writes of %d; %s", n, cluster.describe()).isPositive();
    return acked;
  }

  /**
   * Waits until every running node has applied the leader's last entry and all state machines
   * are equal, then checks that they hold at least {@code acked} commands.
   */
  private static void assertAgree(final TestCluster cluster, final long acked) {
    final long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      final long target = cluster.awaitLeader(TIMEOUT).metrics().lastLogId().index();
      cluster.awaitApplied(target, TIMEOUT);
      final Set<DigestStateMachine.Progress> states = new HashSet<>();
      for (final long id : cluster.runningNodes().keySet()) {
        states.add(cluster.stateMachine(id).progress());
      }
      if (states.size() == 1) {
        final DigestStateMachine.Progress p = states.iterator().next();
        assertThat(p.appliedCount()).as("commands applied; %s", cluster.describe()).isGreaterThanOrEqualTo(acked);
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("state machines differ after " + TIMEOUT + ": " + states + "; " + cluster.describe());
      }
    }
  }

  private static long size(final Path file) {
    try {
      return Files.size(file);
    } catch (final IOException e) {
      return 0; // deleted meanwhile (a temporary file)
    }
  }

  private static void deleteRecursively(final Path root) throws IOException {
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(final Path d, final IOException e) throws IOException {
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
