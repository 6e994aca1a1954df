package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.storage.memory.MemoryStores;
import org.junit.jupiter.api.Test;

class MemoryClustersTest {

  @Test
  void shouldDropTheClusterMemoryStoresOnClose() {
    final TestCluster cluster = MemoryClusters.of(2);
    final String name = cluster.storeName(1);
    MemoryStores.getOrCreate(name);
    MemoryStores.getOrCreate("unrelated-store");

    cluster.close();

    assertThat(MemoryStores.find(name)).isEmpty();
    assertThat(MemoryStores.find("unrelated-store")).isPresent();
    MemoryStores.drop("unrelated-store");
  }
}
