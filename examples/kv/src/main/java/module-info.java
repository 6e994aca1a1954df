/**
 * The replicated key-value example of raftkit: an HTTP/JSON key-value service whose state is a
 * raftkit {@link io.raftkit.api.spi.StateMachine}, with the command line {@code serve}, {@code
 * demo} and {@code cluster} ({@link io.raftkit.examples.kv.Main}).
 *
 * <p>It compiles against {@code io.raftkit.api} only: the engine, the transports ({@code netty},
 * {@code aeron}) and the storages ({@code file}, {@code rocksdb}, {@code memory}) are found on the
 * module path at run time through their {@code provides} clauses. Nothing is exported: the module
 * is an application, launched with {@code java -p <path> -m
 * io.raftkit.examples.kv/io.raftkit.examples.kv.Main}.
 */
module io.raftkit.examples.kv {
  requires io.raftkit.api;
  requires org.slf4j;
  requires java.net.http;
  requires io.netty.common;
  requires io.netty.buffer;
  requires io.netty.transport;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.handler;

  // serve --peer-route: another transport dialing some peers at other addresses (test proxies).
  provides io.raftkit.api.spi.TransportProvider with
      io.raftkit.examples.kv.RoutedTransportProvider;
}
