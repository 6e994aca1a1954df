/**
 * The TCP transport {@code "netty"}: one reused connection per peer carrying many requests at
 * once, epoll when the native library loads and NIO otherwise, optional mutual TLS. See {@link
 * io.raftkit.transport.netty.NettyTransportProvider} for the address syntax, the options and the
 * behaviour under failure and back-pressure.
 *
 * <p>No package is exported: {@link java.util.ServiceLoader} finds the provider through {@code
 * provides} (or {@code META-INF/services} on the class path).
 */
module io.raftkit.transport.netty {
  requires io.raftkit.api;
  requires io.raftkit.wire;
  requires org.slf4j;
  requires io.netty.common;
  requires io.netty.buffer;
  requires io.netty.transport;
  requires io.netty.codec;
  requires io.netty.handler;
  requires io.netty.transport.classes.epoll;

  provides io.raftkit.api.spi.TransportProvider with
      io.raftkit.transport.netty.NettyTransportProvider;
}
