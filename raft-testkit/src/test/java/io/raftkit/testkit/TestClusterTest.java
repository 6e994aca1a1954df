package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The harness's bookkeeping; starting nodes needs the engine and is covered by cluster tests. */
class TestClusterTest {

  @Test
  void shouldNameNodesAddressesAndStores() {
    try (TestCluster cluster = TestCluster.of(3)) {
      assertThat(cluster.nodeIds()).containsExactly(1L, 2L, 3L);
      assertThat(cluster.addresses()).isEqualTo(Map.of(1L, "node1", 2L, "node2", 3L, "node3"));
      assertThat(cluster.storeName(2)).isEqualTo(cluster.network().name() + "-node2");
      assertThat(cluster.storeNames()).hasSize(3).doesNotHaveDuplicates();
      assertThat(cluster.runningNodes()).isEmpty();
      assertThat(cluster.leader()).isEmpty();
    }
  }

  @Test
  void shouldGiveEachClusterItsOwnNetworkAndStores() {
    try (TestCluster a = TestCluster.of(1);
        TestCluster b = TestCluster.of(1)) {
      assertThat(a.network().name()).isNotEqualTo(b.network().name());
      assertThat(a.storeName(1)).isNotEqualTo(b.storeName(1));
    }
  }

  @Test
  void shouldUseTestFriendlyTiming() {
    assertThat(TestCluster.defaultConfig().electionTimeoutMin()).isEqualTo(Duration.ofMillis(150));
    assertThat(TestCluster.defaultConfig().electionTimeoutMax()).isEqualTo(Duration.ofMillis(300));
    assertThat(TestCluster.defaultConfig().heartbeatInterval()).isEqualTo(Duration.ofMillis(50));
    assertThat(TestCluster.of(1).config()).isEqualTo(TestCluster.defaultConfig());
  }

  @Test
  void shouldRejectUnknownNodeIdsAndNodesNotRunning() {
    try (TestCluster cluster = TestCluster.of(2)) {
      assertThatThrownBy(() -> cluster.node(3))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("id=3");
      assertThatThrownBy(() -> cluster.node(1))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("not running");
      assertThatThrownBy(() -> cluster.stateMachine(1)).isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> cluster.awaitLeader(Duration.ofMillis(10)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("no node is running");
      assertThat(cluster.stop(1)).isFalse();
    }
    assertThatThrownBy(() -> TestCluster.builder().size(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldRunAfterCloseHooksOnceAndCloseNetwork() {
    final AtomicInteger calls = new AtomicInteger();
    final TestCluster cluster = TestCluster.builder().size(1).afterClose(c -> calls.incrementAndGet()).build();
    final List<String> before = cluster.network().addresses();

    cluster.close();
    cluster.close();

    assertThat(before).isEmpty();
    assertThat(calls).hasValue(1);
    assertThatThrownBy(() -> cluster.start(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }
}
