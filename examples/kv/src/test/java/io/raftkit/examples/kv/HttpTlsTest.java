package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import io.raftkit.api.RaftMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Three nodes with mutual TLS on their Raft links and HTTPS that requires client certificates,
 * using the test certificates of {@code src/test/resources/tls} (made by {@code
 * scripts/make-test-certs.sh}: a test CA, node certificates it signed, an intruder signed by
 * another CA; committed because keytool takes about a second a call and the set takes some 40).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpTlsTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final String PASSWORD = "test-only";

  private final List<KvNode> nodes = new ArrayList<>();
  private KvNode leader;

  static Path tls(final String file) {
    try {
      return Path.of(HttpTlsTest.class.getResource("/tls/" + file).toURI());
    } catch (final URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Node 1's PEM certificate and key for Raft links and HTTPS, the test CA for both trusts. */
  static TlsSettings tlsSettings(final boolean clientAuth) {
    final Path cert = tls("node1.crt.pem");
    final Path key = tls("node1.key.pem");
    final Path ca = tls("ca.pem");
    return new TlsSettings(cert, key, ca, cert, key, clientAuth ? ca : null, clientAuth);
  }

  @BeforeAll
  void startCluster() throws Exception {
    final List<Integer> ports = FreePorts.pick(6);
    final Map<Long, Peer> peers = new TreeMap<>();
    for (int i = 0; i < 3; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(3 + i)));
    }
    for (final Peer p : peers.values()) {
      nodes.add(KvNode.start(KvNode.Settings.of(p.id(), "netty", "memory", null, peers), tlsSettings(true)));
    }
    final HttpResponse<String> init = send(client("node2.p12"), "POST", nodes.get(0), "/admin/init", null);
    assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
    final List<CompletableFuture<RaftMetrics>> waits = new ArrayList<>();
    for (final KvNode n : nodes) {
      waits.add(n.raft().awaitMetrics(RaftMetrics::isLeader, TIMEOUT));
    }
    final RaftMetrics m = (RaftMetrics) CompletableFuture.anyOf(waits.toArray(new CompletableFuture<?>[0]))
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    leader = nodes.stream().filter(n -> n.id() == m.nodeId()).findFirst().orElseThrow();
    final long index = leader.raft().metrics().lastLogId().index();
    for (final KvNode n : nodes) {
      n.raft().awaitMetrics(x -> x.currentLeader() == leader.id() && x.lastApplied().index() >= index, TIMEOUT)
          .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  @AfterAll
  void stopCluster() {
    nodes.forEach(KvNode::close);
  }

  /** An HTTPS client trusting the test CA, presenting {@code keyStore}'s certificate (none if null). */
  static HttpClient client(final String keyStore) throws Exception {
    final TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(load("trust.p12"));
    KeyManagerFactory keys = null;
    if (keyStore != null) {
      keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(load(keyStore), PASSWORD.toCharArray());
    }
    final SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
    return HttpClient.newBuilder()
        .sslContext(context)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  private static KeyStore load(final String file) throws Exception {
    final KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(tls(file))) {
      store.load(in, PASSWORD.toCharArray());
    }
    return store;
  }

  static HttpResponse<String> send(
      final HttpClient client, final String method, final KvNode node, final String path, final String body)
      throws IOException, InterruptedException {
    return send(client, "https", method, node, path, body);
  }

  static HttpResponse<String> send(final HttpClient client, final String scheme, final String method,
      final KvNode node, final String path, final String body) throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(URI.create(scheme + "://" + node.httpAddress() + path))
            .timeout(TIMEOUT)
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private KvNode follower() {
    return nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
  }

  @Test
  void shouldServeAClientWhoseCertificateTheTrustedCaSigned() throws Exception {
    final HttpClient client = client("node2.p12");
    final HttpResponse<String> put = send(client, "PUT", leader, "/kv/secure", "{\"value\":\"yes\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    final HttpResponse<String> get = send(client, "GET", leader, "/kv/secure", null);
    assertThat(get.statusCode()).as(get.body()).isEqualTo(200);
    assertThat(get.body()).contains("\"value\":\"yes\"");
  }

  @Test
  void shouldRefuseAClientWithoutACertificateAndChangeNothing() throws Exception {
    assertRefusedAndNothingChanged(client(null), "https");
  }

  @Test
  void shouldRefuseAClientWhoseCertificateAnotherCaSigned() throws Exception {
    assertRefusedAndNothingChanged(client("intruder.p12"), "https");
  }

  @Test
  void shouldRefusePlainHttp() throws Exception {
    assertRefusedAndNothingChanged(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(), "http");
  }

  private void assertRefusedAndNothingChanged(final HttpClient client, final String scheme) throws Exception {
    final LogId before = leader.raft().metrics().lastLogId();
    assertThatThrownBy(() -> send(client, scheme, "PUT", leader, "/kv/intrusion", "{\"value\":\"x\"}"))
        .isInstanceOf(IOException.class);
    assertThat(leader.raft().metrics().lastLogId()).isEqualTo(before);
    assertThat(leader.stateMachine().get("intrusion")).isNull();
    // The server is still there for a client with a certificate.
    assertThat(send(client("node3.p12"), "GET", leader, "/admin/metrics", null).statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRedirectFromAFollowerToTheLeaderOverHttps() throws Exception {
    final HttpResponse<String> r = send(client("node2.p12"), "PUT", follower(), "/kv/r", "{\"value\":\"v\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(307);
    assertThat(r.headers().firstValue("location")).hasValue("https://" + leader.httpAddress() + "/kv/r");
  }

  @Test
  void shouldServeHttpsWithoutClientCertificatesWhenNotRequired() throws Exception {
    final List<Integer> ports = FreePorts.pick(2);
    final Map<Long, Peer> alone = Map.of(1L, new Peer(1, "127.0.0.1:" + ports.get(0), "127.0.0.1:" + ports.get(1)));
    try (KvNode node = KvNode.start(KvNode.Settings.of(1, "netty", "memory", null, alone), tlsSettings(false))) {
      final HttpResponse<String> metrics = send(client(null), "GET", node, "/admin/metrics", null);
      assertThat(metrics.statusCode()).as(metrics.body()).isEqualTo(200);
      assertThat(metrics.body()).contains("\"node_id\":1");
    }
  }
}
