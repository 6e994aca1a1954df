package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Config;
import io.raftkit.api.Membership;
import io.raftkit.api.Raft;
import io.raftkit.api.error.AlreadyInitializedException;
import io.raftkit.api.error.ConfigException;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.NotAMemberException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.ProviderNotFoundException;
import io.raftkit.api.error.ShutdownException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every kind of bad input gets a clear error naming what was wrong, and changes nothing. */
class BadInputTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void shouldNameTheFieldOfAnInvalidConfig() {
    assertThatThrownBy(() -> Config.builder().commitLinger(Duration.ofMillis(-1)).build())
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("commitLinger"))
        .hasMessageContaining("commitLinger=PT-0.001S must be zero or more");
    assertThatThrownBy(() -> Config.builder().commitLinger(Config.HEARTBEAT_INTERVAL_DEFAULT).build())
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("commitLinger"))
        .hasMessageContaining("less than heartbeatInterval=PT0.1S");
    assertThat(Config.builder().commitLinger(Duration.ZERO).build().commitLinger()).isZero();
    assertThatThrownBy(() -> Config.builder().heartbeatInterval(Duration.ofSeconds(1)).build())
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("heartbeatInterval"))
        .hasMessageContaining("heartbeatInterval=PT1S")
        .hasMessageContaining("electionTimeoutMin");
    assertThatThrownBy(() -> Config.builder().maxInflightAppends(0).build())
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("maxInflightAppends"))
        .hasMessageContaining("maxInflightAppends=0 must be >= 1");
    assertThatThrownBy(() -> Config.builder()
            .electionTimeout(Duration.ofMillis(500), Duration.ofMillis(500)).build())
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("electionTimeoutMax"));
  }

  @Test
  void shouldFailAWriteOnAFollowerWithTheLeadersIdAndAddress() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      // A follower learns the leader's address from the membership in its log.
      cluster.awaitAll(m -> m.currentLeader() == leader.nodeId() && !m.membership().isEmpty(),
          "knows the leader and the membership", TIMEOUT);
      final long followerId = leader.nodeId() % 3 + 1;
      final Throwable error = failureOf(cluster.node(followerId).write(new byte[] {1}));
      assertThat(error).isInstanceOfSatisfying(NotLeaderException.class, e -> {
        assertThat(e.leaderId()).isEqualTo(leader.nodeId());
        assertThat(e.leaderAddress()).isEqualTo(cluster.address(leader.nodeId()));
        assertThat(e.nodeId()).isEqualTo(followerId);
      });
      assertThat(error.getMessage()).contains("leader is node " + leader.nodeId() + " at node" + leader.nodeId());
    }
  }

  @Test
  void shouldRefuseASecondInitializeAndAMembershipWithoutTheNode() throws Exception {
    try (TestCluster cluster = MemoryClusters.of(3).start()) {
      cluster.initialize();
      cluster.awaitLeader(TIMEOUT);
      final Membership again = Membership.ofVoters(cluster.addresses());
      assertThat(failureOf(cluster.node(1).initialize(again)))
          .isInstanceOf(AlreadyInitializedException.class)
          .hasMessageContaining("node 1 is already initialized");
      // Node 2 received the log from the leader, so it refuses too.
      cluster.awaitAll(m -> m.lastLogId().index() >= 2, "has the log", TIMEOUT);
      assertThat(failureOf(cluster.node(2).initialize(again))).isInstanceOf(AlreadyInitializedException.class);
    }
    try (TestCluster cluster = MemoryClusters.of(2).start()) {
      final Membership withoutNode2 = Membership.ofVoters(Map.of(1L, "node1"));
      assertThat(failureOf(cluster.node(2).initialize(withoutNode2)))
          .isInstanceOf(NotAMemberException.class)
          .hasMessageContaining("node 2 must be a voter");
      assertThat(cluster.node(2).metrics().lastLogId().index()).as("nothing written").isZero();
    }
  }

  @Test
  void shouldFailWritesAfterCloseAndCommandsThatAreNullOrTooLarge() throws Exception {
    final Config small = TestCluster.defaultConfig().toBuilder().maxEntryBytes(1024).build();
    try (TestCluster cluster = MemoryClusters.of(1, small).start()) {
      cluster.initialize();
      final Raft<Long> leader = cluster.awaitLeader(TIMEOUT);
      assertThat(failureOf(leader.write(null))).isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("command must not be null");
      assertThat(failureOf(leader.write(new byte[1025]))).isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("1025 bytes exceeds maxEntryBytes=1024");
      assertThat(leader.write(new byte[1024]).get(30, TimeUnit.SECONDS).response()).isEqualTo(1L);

      cluster.stop(1);
      assertThat(failureOf(leader.write(new byte[] {1}))).isInstanceOf(ShutdownException.class)
          .hasMessageContaining("node 1 is closed");
      assertThat(failureOf(leader.initialize(Membership.ofVoters(Map.of(1L, "node1")))))
          .isInstanceOf(ShutdownException.class);
    }
  }

  @Test
  void shouldListTheKnownProvidersWhenANameIsUnknown() {
    final LocalNetwork network = LocalNetwork.create();
    try (network) {
      assertThatThrownBy(() -> Raft.<Long>builder()
              .nodeId(1)
              .stateMachine(new DigestStateMachine())
              .storage("nosuchstore")
              .transport("local")
              .bindAddress("n1")
              .option("local.network", network.name())
              .build())
          .isInstanceOfSatisfying(ProviderNotFoundException.class,
              e -> assertThat(e.available()).contains("memory"))
          .hasMessageContaining("no storage provider named 'nosuchstore'")
          .hasMessageContaining("memory");
      assertThatThrownBy(() -> Raft.<Long>builder()
              .nodeId(1)
              .stateMachine(new DigestStateMachine())
              .transport("carrier-pigeon")
              .bindAddress("n1")
              .build())
          .isInstanceOfSatisfying(ProviderNotFoundException.class,
              e -> assertThat(e.available()).contains("local"))
          .hasMessageContaining("no transport provider named 'carrier-pigeon'");
      assertThatThrownBy(() -> Raft.<Long>builder().nodeId(0).build())
          .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("nodeId"));
    }
  }

  private static Throwable failureOf(final CompletableFuture<?> f) throws Exception {
    try {
      f.get(30, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure but got a result");
    } catch (final ExecutionException e) {
      return e.getCause();
    }
  }
}
