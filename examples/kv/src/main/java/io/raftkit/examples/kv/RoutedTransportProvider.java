package io.raftkit.examples.kv;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The transport provider {@value #NAME}: another transport (option {@value #DELEGATE}) whose
 * outbound connections to some peers go to another address than the membership names (options
 * {@value #ROUTE_PREFIX}{@code <id>=host:port}). {@code serve --peer-route} uses it so that a test
 * can put a fault-injecting proxy on every directed link (src to dst): the membership holds one
 * address per node, but each node may dial each peer through its own proxy. Inbound connections
 * and everything else are the delegate's.
 */
public final class RoutedTransportProvider implements TransportProvider {

  /** The provider name. */
  public static final String NAME = "kv-routed";
  /** Option naming the transport provider that carries the traffic. */
  public static final String DELEGATE = NAME + ".transport";
  /** Prefix of the options {@code kv-routed.route.<id>=host:port}. */
  public static final String ROUTE_PREFIX = NAME + ".route.";

  /** For {@link java.util.ServiceLoader}. */
  public RoutedTransportProvider() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Transport create(final TransportContext context) throws IOException {
    final String delegateName = context.option(DELEGATE, null);
    if (delegateName == null || delegateName.equals(NAME)) {
      throw new ConfigException("transport", "transport " + NAME + " needs option " + DELEGATE
          + " naming another transport, got " + delegateName);
    }
    final Map<Long, String> routes = new TreeMap<>();
    for (final Map.Entry<String, String> e : context.options().entrySet()) {
      if (e.getKey().startsWith(ROUTE_PREFIX)) {
        routes.put(Long.parseLong(e.getKey().substring(ROUTE_PREFIX.length())), e.getValue());
      }
    }
    final Transport delegate = Providers.transport(delegateName).create(context);
    return new Routed(delegate, Map.copyOf(routes));
  }

  private static final class Routed implements Transport {
    private final Transport delegate;
    private final Map<Long, String> routes;

    Routed(final Transport delegate, final Map<Long, String> routes) {
      this.delegate = delegate;
      this.routes = routes;
    }

    @Override
    public String localAddress() {
      return delegate.localAddress();
    }

    @Override
    public CompletableFuture<RaftResponse> send(
        final long targetId, final String targetAddress, final RaftRequest request) {
      return delegate.send(targetId, routes.getOrDefault(targetId, targetAddress), request);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
