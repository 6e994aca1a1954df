/**
 * What tests need to prove things about raftkit: the in-JVM transport {@code "local"} with fault
 * controls ({@link io.raftkit.testkit.LocalNetwork}), the cluster harness ({@link
 * io.raftkit.testkit.TestCluster}) and a checkable state machine ({@link
 * io.raftkit.testkit.DigestStateMachine}).
 *
 * <p>The transport provider lives in a package this module does not export; {@link
 * java.util.ServiceLoader} finds it through the {@code provides} clause (or {@code
 * META-INF/services} on the class path). The engine and the storage provider are run-time
 * choices: this module requires neither.
 */
module io.raftkit.testkit {
  requires transitive io.raftkit.api;
  requires org.slf4j;
  requires io.raftkit.engine;
  requires transitive org.junit.jupiter.api;
  requires transitive org.junit.jupiter.params;
  requires transitive org.assertj.core;

  exports io.raftkit.testkit;
  exports io.raftkit.testkit.storage;
  exports io.raftkit.testkit.sim;
  exports io.raftkit.testkit.lincheck;
  exports io.raftkit.testkit.transport;

  provides io.raftkit.api.spi.TransportProvider with
      io.raftkit.testkit.local.LocalTransportProvider;
}
