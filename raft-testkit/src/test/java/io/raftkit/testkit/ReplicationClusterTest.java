package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ServerState;
import io.raftkit.api.WriteResult;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Election and replication on 3- and 5-node clusters over {@code local} + {@code memory}. */
class ReplicationClusterTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /**
   * Long election timeouts: under a write storm on a 2-core machine a GC pause must not cost the
   * leader its leadership, since this test counts every write as acknowledged.
   */
  static final Config STABLE = TestCluster.defaultConfig().toBuilder()
      .electionTimeout(Duration.ofSeconds(2), Duration.ofSeconds(4))
      .heartbeatInterval(Duration.ofMillis(100))
      .build();

  @ParameterizedTest(name = "{0} nodes")
  @ValueSource(ints = {3, 5})
  void shouldElectExactlyOneLeaderWhomEveryNodeKnows(final int size) {
    try (TestCluster cluster = MemoryClusters.of(size).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final long term = leader.metrics().currentTerm();
      cluster.awaitAll(m -> m.currentLeader() == leader.nodeId() && m.currentTerm() == term,
          "leader=" + leader.nodeId() + " in term " + term, TIMEOUT);
      long leaders = 0;
      for (final Raft<Long> raft : cluster.runningNodes().values()) {
        final RaftMetrics m = raft.metrics();
        if (m.state() == ServerState.LEADER && m.currentTerm() == term) {
          leaders++;
        }
      }
      assertThat(leaders).as("leaders in term %d: %s", term, cluster.describe()).isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "{0} nodes")
  @ValueSource(ints = {3, 5})
  void shouldAcknowledgeAndApplyTenThousandWritesFromSixteenClientsInOneOrderOnEveryNode(final int size)
      throws Exception {
    final int clients = 16;
    final int writesPerClient = 625;
    try (TestCluster cluster = MemoryClusters.of(size, STABLE).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      final ConcurrentLinkedQueue<WriteResult<Long>> acks = new ConcurrentLinkedQueue<>();
      final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
      final List<CompletableFuture<Void>> done = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        final CompletableFuture<Void> finished = new CompletableFuture<>();
        done.add(finished);
        writeChain(leader, c, 0, writesPerClient, acks, errors, finished);
      }
      CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
      assertThat(errors).as("write errors").isEmpty();
      assertThat(acks).hasSize(clients * writesPerClient);

      // Every ack has its own log index, and the state machine counted each write once.
      final Set<Long> indexes = new HashSet<>();
      final Set<Long> counts = new HashSet<>();
      long lastIndex = 0;
      for (final WriteResult<Long> r : acks) {
        indexes.add(r.logId().index());
        counts.add(r.response());
        lastIndex = Math.max(lastIndex, r.logId().index());
      }
      assertThat(indexes).hasSize(clients * writesPerClient);
      assertThat(counts).hasSize(clients * writesPerClient);

      cluster.awaitApplied(lastIndex, TIMEOUT);
      // No write follows: every node ends at the leader's last entry, with the same state.
      final LogId leaderLast = leader.metrics().lastLogId();
      cluster.awaitAll(m -> m.lastApplied().equals(leaderLast), "lastApplied=" + leaderLast, TIMEOUT);
      final Set<Long> digests = new HashSet<>();
      for (final long id : cluster.nodeIds()) {
        final DigestStateMachine.Progress p = cluster.stateMachine(id).progress();
        assertThat(p.appliedCount()).as("writes applied on node %d", id).isEqualTo(clients * writesPerClient);
        digests.add(p.digest());
      }
      assertThat(digests).as("digests of every node: %s", cluster.describe()).hasSize(1);
    }
  }

  /** One client: writes {@code remaining} commands one after the other (each after the last ack). */
  private static void writeChain(
      final Raft<Long> leader,
      final int client,
      final int seq,
      final int total,
      final ConcurrentLinkedQueue<WriteResult<Long>> acks,
      final ConcurrentLinkedQueue<Throwable> errors,
      final CompletableFuture<Void> finished) {
    if (seq == total) {
      finished.complete(null);
      return;
    }
    final byte[] command = ByteBuffer.allocate(8).putInt(client).putInt(seq).array();
    leader.write(command).whenComplete((r, err) -> {
      if (err != null) {
        errors.add(err);
        finished.complete(null);
        return;
      }
      acks.add(r);
      writeChain(leader, client, seq + 1, total, acks, errors, finished);
    });
  }

}
