package io.raftkit.transport.netty;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.raftkit.api.error.ConfigException;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * The transport provider {@code "netty"}: Raft RPCs over TCP, one connection per peer.
 *
 * <h2>Addresses</h2>
 *
 * {@code host:port}, IPv6 hosts in brackets. The bind address may use port 0 for an ephemeral
 * port; {@link Transport#localAddress()} then reports the real one. Bind to the address peers use
 * to reach the node: that is what {@code localAddress()} reports.
 *
 * <h2>Behaviour</h2>
 *
 * <ul>
 *   <li>Event loops use epoll when the native library loads, NIO otherwise ({@code
 *       netty.channelType}). One event loop group serves the listener and every connection.
 *   <li>One connection per peer (per target id and address), opened by the first send and reused;
 *       any number of requests are in flight on it, matched to responses by correlation id. Each
 *       side of a pair of nodes connects to the other for its own requests.
 *   <li>The connecting side sends a hello (protocol version, cluster id, node id, group id, the
 *       node id it expects); the other side refuses, logs and closes a peer of another cluster,
 *       protocol version or expected node id. Requests sent meanwhile wait in the queue.
 *   <li>Frames are length-prefixed protobuf ({@code raft-wire}); a frame above {@code
 *       netty.maxFrameBytes} is refused when its length is read: the connection is closed and an
 *       error logged. The sender refuses to send one and fails its request.
 *   <li>Writes from any thread are queued and written by the event loop with one flush per batch.
 *   <li><b>Back-pressure: fail fast, never buffer without bound.</b> A request fails at once with
 *       {@link io.raftkit.api.error.UnreachableException} when the connection's outbound buffer
 *       is above {@code netty.writeBufferHighWaterMark} (until it drains below the low mark), or
 *       when {@code netty.maxQueuedPerPeer} frames or {@code netty.writeBufferHighWaterMark}
 *       estimated bytes already wait to be written (one frame larger than that is let through
 *       when nothing waits). The engine sees an unreachable peer and retries on its next
 *       heartbeat. A server whose responses back up stops reading requests until the connection
 *       drains. So a connection holds at most about twice the high water mark, plus the kernel's
 *       socket buffers.
 *   <li>A failed connection attempt (or a refused handshake) fails the requests queued on it and
 *       starts a backoff (doubling from {@code netty.reconnectBackoffMinMs} to {@code
 *       netty.reconnectBackoffMaxMs}) during which sends to that peer fail at once; the first
 *       send after it reconnects. A connection that worked and drops fails its requests and
 *       reconnects on the next send without backoff.
 *   <li>Every request fails with {@code UnreachableException} if no response comes within {@link
 *       TransportContext#rpcTimeout()} (checked every {@code min(50 ms, rpcTimeout / 4)}).
 *   <li>{@code close()} fails every pending request with {@link
 *       io.raftkit.api.error.ShutdownException}, closes every connection and stops the event
 *       loops.
 *   <li>No Netty buffer leaves the transport: frames are decoded to raft-api messages (payloads
 *       copied) and released on the event loop.
 * </ul>
 *
 * <h2>Options</h2>
 *
 * <table>
 *   <caption>netty options</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code netty.maxFrameBytes}</td><td>33554432 (32 MiB)</td><td>largest frame body
 *       sent or accepted; above the largest append (Config.maxEntryBytes 16 MiB by default)</td></tr>
 *   <tr><td>{@code netty.ioThreads}</td><td>min(2, cores)</td><td>event loop threads</td></tr>
 *   <tr><td>{@code netty.channelType}</td><td>auto</td><td>{@code auto}, {@code epoll} or
 *       {@code nio}</td></tr>
 *   <tr><td>{@code netty.connectTimeoutMs}</td><td>2000</td><td>TCP connect timeout</td></tr>
 *   <tr><td>{@code netty.handshakeTimeoutMs}</td><td>5000</td><td>hello to reply, after
 *       connecting</td></tr>
 *   <tr><td>{@code netty.reconnectBackoffMinMs}</td><td>20</td><td>first backoff after a failed
 *       connection attempt</td></tr>
 *   <tr><td>{@code netty.reconnectBackoffMaxMs}</td><td>1000</td><td>longest backoff</td></tr>
 *   <tr><td>{@code netty.maxQueuedPerPeer}</td><td>65536</td><td>frames waiting to be written on
 *       one connection</td></tr>
 *   <tr><td>{@code netty.writeBufferLowWaterMark}</td><td>1048576</td><td>writable again
 *       below</td></tr>
 *   <tr><td>{@code netty.writeBufferHighWaterMark}</td><td>8388608</td><td>not writable
 *       above</td></tr>
 *   <tr><td>{@code netty.tls.keyStore}, {@code netty.tls.keyStorePassword}</td><td>none</td>
 *       <td>PKCS12 file with this node's key and certificate chain; enables mutual TLS</td></tr>
 *   <tr><td>{@code netty.tls.trustStore}, {@code netty.tls.trustStorePassword}</td><td>none</td>
 *       <td>PKCS12 file with the certificates (or CA) peers must present; required with a key
 *       store. Clients also check that the peer's certificate names the host they dialled.</td></tr>
 *   <tr><td>{@code netty.tls.certChain}, {@code netty.tls.privateKey}</td><td>none</td>
 *       <td>instead of a key store: PEM files with this node's certificate chain (its own
 *       certificate first) and its unencrypted PKCS#8 private key ({@code BEGIN PRIVATE
 *       KEY})</td></tr>
 *   <tr><td>{@code netty.tls.trustCerts}</td><td>none</td><td>instead of a trust store: a PEM
 *       file with the certificates (or CA) peers must present</td></tr>
 *   <tr><td>{@code netty.tls.required}</td><td>false</td><td>{@code true}: refuse to start
 *       without a TLS key and trust, so that a configuration that lost its TLS options fails
 *       instead of running in plain text</td></tr>
 * </table>
 *
 * <h2>Mutual TLS</h2>
 *
 * With a key (a PKCS12 key store, or a PEM certificate chain and key) and a trust source (a
 * PKCS12 trust store, or a PEM file of certificates), every connection is TLS (the JDK's
 * implementation, no native library) and both sides must present a certificate that chains to
 * one the other trusts: the listening side requires a client certificate, and the connecting side
 * also checks that the listener's certificate names the host of the address it dialled (a subject
 * alternative name: {@code IP:127.0.0.1}, {@code DNS:node1.example}). A peer without a certificate,
 * with an untrusted or expired one, or in plain text fails the TLS handshake: its connection is
 * closed, a warning is logged, and its requests fail with {@link
 * io.raftkit.api.error.UnreachableException}. The cluster-id hello is sent once TLS is up, so a
 * node with a trusted certificate but of another cluster is still refused. There is no plain-text
 * fallback; nodes with and without TLS cannot talk.
 *
 * <p>Public with a public no-argument constructor for {@link java.util.ServiceLoader}; stateless.
 */
public final class NettyTransportProvider implements TransportProvider {

  /** The provider's name. */
  public static final String NAME = "netty";

  /** Creates the provider; called by {@link java.util.ServiceLoader}. */
  public NettyTransportProvider() {}

  /** {@inheritDoc} */
  @Override
  public String name() {
    return NAME;
  }

  /**
   * {@inheritDoc}
   *
   * @throws ConfigException if an option is invalid
   * @throws IOException if the bind address is not {@code host:port}, cannot be bound, or the TLS
   *     stores cannot be read
   */
  @Override
  public Transport create(final TransportContext context) throws IOException {
    final NettyOptions options = NettyOptions.from(context);
    SslContext server = null;
    SslContext client = null;
    if (options.tls()) {
      final String source = options.keyStore() != null
          ? NettyOptions.KEY_STORE + "=" + options.keyStore()
          : NettyOptions.CERT_CHAIN + "=" + options.certChain() + " and " + NettyOptions.PRIVATE_KEY + "="
              + options.privateKey();
      final String trustSource = options.trustStore() != null
          ? NettyOptions.TRUST_STORE + "=" + options.trustStore()
          : NettyOptions.TRUST_CERTS + "=" + options.trustCerts();
      try {
        final SslContextBuilder serverBuilder;
        final SslContextBuilder clientBuilder = SslContextBuilder.forClient();
        if (options.keyStore() != null) {
          final KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
          keys.init(load(options.keyStore(), options.keyStorePassword()), options.keyStorePassword().toCharArray());
          serverBuilder = SslContextBuilder.forServer(keys);
          clientBuilder.keyManager(keys);
        } else {
          serverBuilder = SslContextBuilder.forServer(options.certChain().toFile(), options.privateKey().toFile());
          clientBuilder.keyManager(options.certChain().toFile(), options.privateKey().toFile());
        }
        if (options.trustStore() != null) {
          final TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
          trust.init(load(options.trustStore(), options.trustStorePassword()));
          serverBuilder.trustManager(trust);
          clientBuilder.trustManager(trust);
        } else {
          serverBuilder.trustManager(options.trustCerts().toFile());
          clientBuilder.trustManager(options.trustCerts().toFile());
        }
        // The JDK's TLS (no netty-tcnative); both sides present and verify a certificate, and
        // the connecting side also checks that the certificate names the host it dialled.
        server = serverBuilder.sslProvider(SslProvider.JDK).clientAuth(ClientAuth.REQUIRE).build();
        client = clientBuilder.sslProvider(SslProvider.JDK).endpointIdentificationAlgorithm("HTTPS").build();
      } catch (final GeneralSecurityException | IOException | IllegalArgumentException e) {
        // Netty reports an unreadable PEM file with IllegalArgumentException.
        throw new IOException(
            "nodeId=" + context.nodeId() + ": cannot set up TLS from " + source + " trusting " + trustSource + ": "
                + e,
            e);
      }
    }
    return new NettyTransport(context, options, server, client);
  }

  private static KeyStore load(final Path path, final String password) throws IOException, GeneralSecurityException {
    final KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(path)) {
      store.load(in, password.toCharArray());
    }
    return store;
  }

  @Override
  public String toString() {
    return "NettyTransportProvider{name=" + NAME + "}";
  }
}
