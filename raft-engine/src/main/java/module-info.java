/**
 * raftkit's engine: the deterministic Raft core ({@code io.raftkit.engine.core}) and the runtime
 * that drives it with threads, timers and IO ({@code io.raftkit.engine.runtime}).
 *
 * <p>Nothing here is exported to applications: they use {@code io.raftkit.api} and get the engine
 * through {@link io.raftkit.api.spi.RaftEngineProvider}. The core package is exported only to
 * raft-testkit, whose simulator drives it under simulated time, network and disks.
 */
@SuppressWarnings("module")
module io.raftkit.engine {
  requires transitive io.raftkit.api;
  requires org.slf4j;

  exports io.raftkit.engine.core to
      io.raftkit.testkit;

  provides io.raftkit.api.spi.RaftEngineProvider with
      io.raftkit.engine.runtime.DefaultEngineProvider;
}
