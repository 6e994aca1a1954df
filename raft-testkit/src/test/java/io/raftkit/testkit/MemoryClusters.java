package io.raftkit.testkit;

import io.raftkit.api.Config;
import io.raftkit.storage.memory.MemoryStores;

/**
 * Test-scope helpers for clusters on the {@code "memory"} storage provider (storage-memory is only a
 * test dependency of raft-testkit, so these cannot live in {@link TestCluster}).
 */
final class MemoryClusters {

  private MemoryClusters() {}

  /** A cluster whose memory stores are dropped when it closes; not yet started. */
  static TestCluster of(final int size, final Config config) {
    return TestCluster.builder()
        .size(size)
        .config(config)
        .afterClose(c -> c.storeNames().forEach(MemoryStores::drop))
        .build();
  }

  /** A cluster with {@link TestCluster#defaultConfig()} whose memory stores are dropped on close. */
  static TestCluster of(final int size) {
    return of(size, TestCluster.defaultConfig());
  }

  /**
   * Simulates power loss on a node: its store loses everything not synced, then the node is
   * stopped. Start it again with {@link TestCluster#start(long)}.
   */
  static void crash(final TestCluster cluster, final long id) {
    MemoryStores.get(cluster.storeName(id)).crash();
    cluster.stop(id);
  }
}
