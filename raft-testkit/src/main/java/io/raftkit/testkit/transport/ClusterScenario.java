package io.raftkit.testkit.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Raft;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.testkit.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * An end-to-end check of a transport provider under the real engine: a 3-node {@link TestCluster}
 * on it elects a leader, takes 5,000 pipelined writes, loses its leader, elects another, takes
 * 500 more, gets the old leader back, and every node applies the same log. What {@link
 * TransportTck} checks one transport at a time, this checks as a cluster.
 *
 * <pre>{@code
 * try (TestCluster cluster = TestCluster.builder().size(3).transport("mytransport").build().start()) {
 *   ClusterScenario.electWriteAndFailOver(cluster, Duration.ofSeconds(30));
 * }
 * }</pre>
 */
public final class ClusterScenario {

  /** Writes in flight at most, per window of {@link #writePipelined}. */
  private static final int WINDOW = 256;

  private ClusterScenario() {}

  /**
   * Runs the scenario on a started, uninitialized 3-node cluster.
   *
   * @param cluster the cluster, bound to loopback addresses
   * @param timeout the longest wait for any one step (an election, a write, an apply)
   */
  public static void electWriteAndFailOver(final TestCluster cluster, final Duration timeout) throws Exception {
    assertThat(cluster.address(1)).startsWith("127.0.0.1:");
    cluster.initialize();
    final Raft<Long> first = cluster.awaitLeader(timeout);

    final long lastBefore = writePipelined(cluster, 5_000, 0, timeout);
    cluster.awaitApplied(lastBefore, timeout);
    assertConverged(cluster, 5_000);

    cluster.stop(first.nodeId());
    final Raft<Long> second = cluster.awaitLeader(timeout);
    assertThat(second.nodeId()).isNotEqualTo(first.nodeId());
    final long lastAfter = writePipelined(cluster, 500, 5_000, timeout);

    cluster.start(first.nodeId());
    cluster.awaitApplied(lastAfter, timeout);
    assertConverged(cluster, 5_500);
  }

  /**
   * Writes {@code n} commands through the leader with up to {@link #WINDOW} in flight; a write
   * refused by a deposed leader is retried through the next one (it may then apply twice, which
   * the digest check tolerates since every node applies the same log).
   */
  private static long writePipelined(final TestCluster cluster, final int n, final int offset, final Duration timeout)
      throws Exception {
    long last = 0;
    for (int start = 0; start < n; start += WINDOW) {
      final Raft<Long> leader = cluster.awaitLeader(timeout);
      final List<CompletableFuture<WriteResult<Long>>> window = new ArrayList<>();
      final int end = Math.min(n, start + WINDOW);
      for (int i = start; i < end; i++) {
        window.add(leader.write(command(offset + i)));
      }
      for (int i = start; i < end; i++) {
        try {
          last = Math.max(last, window.get(i - start).get(timeout.toSeconds(), TimeUnit.SECONDS).logId().index());
        } catch (final ExecutionException e) {
          if (!(e.getCause() instanceof NotLeaderException)) {
            throw e;
          }
          last = Math.max(last, writeOne(cluster, command(offset + i), timeout));
        }
      }
    }
    return last;
  }

  private static long writeOne(final TestCluster cluster, final byte[] command, final Duration timeout)
      throws Exception {
    final long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        return cluster.awaitLeader(timeout).write(command).get(timeout.toSeconds(), TimeUnit.SECONDS).logId().index();
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
