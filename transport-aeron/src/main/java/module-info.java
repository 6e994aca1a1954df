/**
 * The transport {@code "aeron"}: Raft RPCs over Aeron UDP unicast (or IPC between nodes that share
 * a media driver), with an embedded media driver by default. See {@link
 * io.raftkit.transport.aeron.AeronTransportProvider} for the address syntax, the options and the
 * behaviour under failure and back-pressure.
 *
 * <p>No package is exported: {@link java.util.ServiceLoader} finds the provider through {@code
 * provides} (or {@code META-INF/services} on the class path). Every JVM running this module needs
 * {@code --add-exports java.base/jdk.internal.misc=org.agrona}.
 */
module io.raftkit.transport.aeron {
  requires io.raftkit.api;
  requires io.raftkit.wire;
  requires org.slf4j;
  requires io.aeron.client;
  requires io.aeron.driver;
  requires org.agrona;

  provides io.raftkit.api.spi.TransportProvider with
      io.raftkit.transport.aeron.AeronTransportProvider;
}
