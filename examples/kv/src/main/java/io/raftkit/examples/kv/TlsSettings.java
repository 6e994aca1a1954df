package io.raftkit.examples.kv;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TLS of one key-value node, from PEM files ({@code serve --raft-tls-* / --http-tls-*}): a
 * certificate chain (own certificate first), an unencrypted PKCS#8 private key and the CA
 * certificates to trust.
 *
 * <p>Raft links: mutual TLS of the netty transport (its options {@code netty.tls.certChain},
 * {@code netty.tls.privateKey}, {@code netty.tls.trustCerts} and {@code netty.tls.required}); all
 * three files or none. HTTP: TLS with the HTTP certificate and key; with {@link
 * #httpClientAuth()} clients must also present a certificate signed by a CA of {@link
 * #httpTrust()}, or the handshake fails and nothing is served.
 *
 * @param raftCert this node's certificate chain for Raft links, or {@code null}
 * @param raftKey its private key, or {@code null}
 * @param raftTrust the CA certificates peers' certificates must chain to, or {@code null}
 * @param httpCert the HTTP server's certificate chain, or {@code null} for plain HTTP
 * @param httpKey its private key, or {@code null}
 * @param httpTrust the CA certificates client certificates must chain to, or {@code null}
 * @param httpClientAuth whether HTTP clients must present a certificate ({@code
 *     --http-client-auth required})
 */
record TlsSettings(
    Path raftCert, Path raftKey, Path raftTrust, Path httpCert, Path httpKey, Path httpTrust, boolean httpClientAuth) {

  /** No TLS anywhere. */
  static final TlsSettings NONE = new TlsSettings(null, null, null, null, null, null, false);

  /** Checks that the parts come together. */
  TlsSettings {
    if ((raftCert == null) != (raftKey == null) || (raftCert == null) != (raftTrust == null)) {
      throw new IllegalArgumentException("Raft TLS needs a certificate, a key and a trust file, or none of them");
    }
    if ((httpCert == null) != (httpKey == null)) {
      throw new IllegalArgumentException("HTTP TLS needs a certificate and a key, or neither");
    }
    if (httpClientAuth && (httpCert == null || httpTrust == null)) {
      throw new IllegalArgumentException("HTTP client authentication needs HTTP TLS and a trust file");
    }
  }

  /** Whether Raft links use mutual TLS. */
  boolean raftTls() {
    return raftCert != null;
  }

  /** Whether the HTTP API is served over TLS. */
  boolean httpTls() {
    return httpCert != null;
  }

  /** The netty transport's options for Raft TLS; empty without it. */
  Map<String, String> raftOptions() {
    final Map<String, String> options = new LinkedHashMap<>();
    if (raftTls()) {
      options.put("netty.tls.certChain", raftCert.toString());
      options.put("netty.tls.privateKey", raftKey.toString());
      options.put("netty.tls.trustCerts", raftTrust.toString());
      options.put("netty.tls.required", "true");
    }
    return options;
  }

  /**
   * The HTTP server's TLS context (the JDK's TLS), or {@code null} for plain HTTP.
   *
   * @throws UncheckedIOException if a file cannot be read as PEM; the message names the files
   */
  SslContext httpServerContext() {
    if (!httpTls()) {
      return null;
    }
    try {
      final SslContextBuilder b =
          SslContextBuilder.forServer(httpCert.toFile(), httpKey.toFile()).sslProvider(SslProvider.JDK);
      if (httpClientAuth) {
        b.trustManager(httpTrust.toFile()).clientAuth(ClientAuth.REQUIRE);
      }
      return b.build();
    } catch (final IOException | IllegalArgumentException e) {
      // Netty reports an unreadable PEM file with IllegalArgumentException.
      throw new UncheckedIOException(
          "cannot set up HTTP TLS from --http-tls-cert=" + httpCert + " --http-tls-key=" + httpKey
              + (httpClientAuth ? " --http-tls-trust=" + httpTrust : "") + ": " + e,
          e instanceof IOException io ? io : new IOException(e));
    }
  }

  /** The HTTP scheme clients use: {@code https} with TLS. */
  String httpScheme() {
    return httpTls() ? "https" : "http";
  }
}
