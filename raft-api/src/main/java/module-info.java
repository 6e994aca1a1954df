/**
 * The public API of raftkit: value types, the {@link io.raftkit.api.Raft} handle, {@link
 * io.raftkit.api.Config}, errors, metrics, RPC messages and the service-provider interfaces.
 *
 * <p>A user's compile-time dependency is this module only. The engine, storage and transport are
 * found at run time with {@link java.util.ServiceLoader}; the lookup lives here, so the {@code uses}
 * clauses do too.
 */
module io.raftkit.api {
  requires org.slf4j;

  exports io.raftkit.api;
  exports io.raftkit.api.error;
  exports io.raftkit.api.message;
  exports io.raftkit.api.spi;

  uses io.raftkit.api.spi.RaftEngineProvider;
  uses io.raftkit.api.spi.StorageProvider;
  uses io.raftkit.api.spi.TransportProvider;
}
