package io.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS with certificates the test makes: one self-signed EC key pair per node (made with the
 * JDK's keytool, subject alternative name IP 127.0.0.1), and trust stores listing the certificates
 * a node accepts.
 */
class NettyTlsTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String PASSWORD = "test-only";

  @TempDir static Path dir;

  private final List<Transport> transports = new ArrayList<>();

  @BeforeAll
  static void makeCertificates() throws Exception {
    for (final String node : List.of("node1", "node2", "intruder")) {
      keytool(
          "-genkeypair", "-alias", node, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + node,
          "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
          "-keystore", dir.resolve(node + ".p12").toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
    }
    trustStore("cluster-trust.p12", "node1", "node2");
    trustStore("intruder-trust.p12", "node1", "node2", "intruder");
  }

  private static void keytool(final String... args) throws IOException, InterruptedException {
    final List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("keytool " + List.of(args) + " failed: " + output);
    }
  }

  private static void trustStore(final String name, final String... nodes) throws Exception {
    final KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    for (final String node : nodes) {
      final KeyStore keys = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(dir.resolve(node + ".p12"))) {
        keys.load(in, PASSWORD.toCharArray());
      }
      trust.setCertificateEntry(node, keys.getCertificate(node));
    }
    try (OutputStream out = Files.newOutputStream(dir.resolve(name))) {
      trust.store(out, PASSWORD.toCharArray());
    }
  }

  @AfterEach
  void closeAll() {
    transports.forEach(Transport::close);
  }

  private Transport start(final long id, final String keyStore, final String trustStore) throws IOException {
    final Map<String, String> options = new HashMap<>();
    if (keyStore != null) {
      options.put(NettyOptions.KEY_STORE, dir.resolve(keyStore).toString());
      options.put(NettyOptions.KEY_STORE_PASSWORD, PASSWORD);
      options.put(NettyOptions.TRUST_STORE, dir.resolve(trustStore).toString());
      options.put(NettyOptions.TRUST_STORE_PASSWORD, PASSWORD);
    }
    final Transport t =
        new NettyTransportProvider()
            .create(
                new TransportContext(
                    id,
                    "c1",
                    "127.0.0.1:0",
                    (from, r) -> CompletableFuture.completedFuture(new VoteResponse(r.term(), true, false)),
                    Duration.ofSeconds(10),
                    options));
    transports.add(t);
    return t;
  }

  private static VoteRequest vote(final long term, final long from) {
    return new VoteRequest(term, from, LogId.ZERO, false);
  }

  private static Throwable failureOf(final CompletableFuture<RaftResponse> f) throws Exception {
    try {
      f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected a failure, got " + f.join());
    } catch (final ExecutionException e) {
      return e.getCause();
    }
  }

  @Test
  void shouldCarryRequestsBothWaysOverMutualTls() throws Exception {
    final Transport n1 = start(1, "node1.p12", "cluster-trust.p12");
    final Transport n2 = start(2, "node2.p12", "cluster-trust.p12");

    assertThat(n1.send(2, n2.localAddress(), vote(3, 1))).succeedsWithin(WAIT).isEqualTo(new VoteResponse(3, true, false));
    assertThat(n2.send(1, n1.localAddress(), vote(4, 2))).succeedsWithin(WAIT).isEqualTo(new VoteResponse(4, true, false));
  }

  @Test
  void shouldRefuseClientWhoseCertificateIsNotTrusted() throws Exception {
    final Transport n1 = start(1, "node1.p12", "cluster-trust.p12");
    // The intruder trusts node 1, but node 1 does not trust the intruder's certificate.
    final Transport intruder = start(3, "intruder.p12", "intruder-trust.p12");

    assertThat(failureOf(intruder.send(1, n1.localAddress(), vote(1, 3)))).isInstanceOf(UnreachableException.class);
  }

  @Test
  void shouldRefusePlaintextPeer() throws Exception {
    final Transport secure = start(1, "node1.p12", "cluster-trust.p12");
    final Transport plain = start(2, null, null);

    assertThat(failureOf(plain.send(1, secure.localAddress(), vote(1, 2)))).isInstanceOf(UnreachableException.class);
    assertThat(failureOf(secure.send(2, plain.localAddress(), vote(1, 1)))).isInstanceOf(UnreachableException.class);
  }
}
