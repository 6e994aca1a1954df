package io.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.raftkit.api.LogId;
import io.raftkit.api.error.ConfigException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFrame;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
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
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS between netty transports, with the test certificates of {@code
 * src/test/resources/tls} (made by {@code scripts/make-test-certs.sh}, which says what each is):
 * a test CA that signs node1..node3, an intruder signed by another CA, a certificate for another
 * host name and an expired one. They are committed rather than made here because keytool takes
 * about a second a call and the set takes some 40 calls; they are valid for a century.
 */
class NettyTlsTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String PASSWORD = "test-only";

  @TempDir Path scratch;

  private final List<Transport> transports = new ArrayList<>();
  private final Map<Transport, AtomicInteger> served = new HashMap<>();

  @AfterEach
  void closeAll() {
    transports.forEach(Transport::close);
  }

  static Path tls(final String file) {
    try {
      return Path.of(NettyTlsTest.class.getResource("/tls/" + file).toURI());
    } catch (final URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Options for a PKCS12 key store {@code keyStore} trusting {@code trust.p12} (the test CA). */
  static Map<String, String> pkcs12(final String keyStore) {
    return Map.of(
        NettyOptions.KEY_STORE, tls(keyStore).toString(),
        NettyOptions.KEY_STORE_PASSWORD, PASSWORD,
        NettyOptions.TRUST_STORE, tls("trust.p12").toString(),
        NettyOptions.TRUST_STORE_PASSWORD, PASSWORD);
  }

  /** Options for node1's PEM certificate chain and key, trusting {@code ca.pem}. */
  static Map<String, String> pem() {
    return Map.of(
        NettyOptions.CERT_CHAIN, tls("node1.crt.pem").toString(),
        NettyOptions.PRIVATE_KEY, tls("node1.key.pem").toString(),
        NettyOptions.TRUST_CERTS, tls("ca.pem").toString());
  }

  private Transport start(final long id, final Map<String, String> options) throws IOException {
    return start(id, "c1", options);
  }

  private Transport start(final long id, final String clusterId, final Map<String, String> options)
      throws IOException {
    final AtomicInteger count = new AtomicInteger();
    final Transport t =
        new NettyTransportProvider()
            .create(
                new TransportContext(
                    id,
                    clusterId,
                    "127.0.0.1:0",
                    (from, r) -> {
                      count.incrementAndGet();
                      return CompletableFuture.completedFuture(new VoteResponse(r.term(), true, false));
                    },
                    Duration.ofSeconds(10),
                    options));
    transports.add(t);
    served.put(t, count);
    return t;
  }

  private int served(final Transport t) {
    return served.get(t).get();
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
    final Transport n1 = start(1, pkcs12("node1.p12"));
    final Transport n2 = start(2, pkcs12("node2.p12"));

    assertThat(n1.send(2, n2.localAddress(), vote(3, 1))).succeedsWithin(WAIT).isEqualTo(new VoteResponse(3, true, false));
    assertThat(n2.send(1, n1.localAddress(), vote(4, 2))).succeedsWithin(WAIT).isEqualTo(new VoteResponse(4, true, false));
    assertThat(n1.toString()).contains("tls=true");
  }

  @Test
  void shouldTalkBetweenAPemConfiguredAndAPkcs12ConfiguredNode() throws Exception {
    final Transport pem = start(1, pem());
    final Transport pkcs12 = start(2, pkcs12("node2.p12"));

    assertThat(pem.send(2, pkcs12.localAddress(), vote(3, 1))).succeedsWithin(WAIT)
        .isEqualTo(new VoteResponse(3, true, false));
    assertThat(pkcs12.send(1, pem.localAddress(), vote(4, 2))).succeedsWithin(WAIT)
        .isEqualTo(new VoteResponse(4, true, false));
  }

  @Test
  void shouldRefuseAPeerWhoseCertificateComesFromAnotherCaEitherWay() throws Exception {
    final Transport n1 = start(1, pkcs12("node1.p12"));
    // The intruder trusts the test CA, so it accepts node 1's certificate; node 1 does not accept its.
    final Transport intruder = start(3, pkcs12("intruder.p12"));

    assertThat(failureOf(intruder.send(1, n1.localAddress(), vote(1, 3))))
        .isInstanceOf(UnreachableException.class);
    assertThat(failureOf(n1.send(3, intruder.localAddress(), vote(1, 1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("TLS handshake with targetId=3");
    assertThat(served(n1)).isZero();
    assertThat(served(intruder)).isZero();
  }

  @Test
  void shouldRefuseAnExpiredCertificate() throws Exception {
    final Transport n1 = start(1, pkcs12("node1.p12"));
    final Transport expired = start(2, pkcs12("expired.p12"));

    assertThat(failureOf(expired.send(1, n1.localAddress(), vote(1, 2)))).isInstanceOf(UnreachableException.class);
    assertThat(failureOf(n1.send(2, expired.localAddress(), vote(1, 1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("TLS handshake");
    assertThat(served(n1)).isZero();
    assertThat(served(expired)).isZero();
  }

  @Test
  void shouldRefuseAListenerWhoseCertificateNamesAnotherHost() throws Exception {
    final Transport n1 = start(1, pkcs12("node1.p12"));
    // Signed by the trusted CA, but for dns:elsewhere.invalid, not the 127.0.0.1 node 1 dials.
    final Transport elsewhere = start(2, pkcs12("wronghost.p12"));

    assertThat(failureOf(n1.send(2, elsewhere.localAddress(), vote(1, 1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("TLS handshake");
    assertThat(served(elsewhere)).isZero();
  }

  @Test
  void shouldRefuseATlsClientThatPresentsNoCertificate() throws Exception {
    final Transport n1 = start(1, pkcs12("node1.p12"));

    // Control: the same raw client with node 2's certificate gets the hello answered.
    final WireFrame.HelloReply reply = rawTlsHello(n1, sslContext("node2.p12"));
    assertThat(reply.accepted()).isTrue();

    // It trusts node 1, but has no key: the handshake, or the first read after it, fails.
    final Throwable refused = catchThrowable(() -> rawTlsHello(n1, sslContext(null)));
    assertThat(refused).isInstanceOf(IOException.class);
    assertThat(served(n1)).isZero();
  }

  /** Connects with {@code context}, sends a hello as node 2 of {@code c1} and reads the reply. */
  private static WireFrame.HelloReply rawTlsHello(final Transport target, final SSLContext context) throws Exception {
    final HostPort hp = HostPort.parse(target.localAddress());
    try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(hp.host(), hp.port())) {
      s.setSoTimeout((int) WAIT.toMillis());
      s.startHandshake();
      final DataOutputStream out = new DataOutputStream(s.getOutputStream());
      final byte[] hello = WireCodec.encodeToArray(new WireFrame.Hello(WireCodec.PROTOCOL_VERSION, "c1", 2, 0, 1));
      out.writeInt(hello.length);
      out.write(hello);
      out.flush();
      final DataInputStream in = new DataInputStream(s.getInputStream());
      final byte[] body = new byte[in.readInt()]; // EOFException if closed
      in.readFully(body);
      return (WireFrame.HelloReply) WireCodec.decode(body);
    }
  }

  private static SSLContext sslContext(final String keyStore) throws Exception {
    final TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(load("trust.p12"));
    KeyManagerFactory keys = null;
    if (keyStore != null) {
      keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(load(keyStore), PASSWORD.toCharArray());
    }
    final SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
    return context;
  }

  private static KeyStore load(final String file) throws Exception {
    final KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(tls(file))) {
      store.load(in, PASSWORD.toCharArray());
    }
    return store;
  }

  @Test
  void shouldRefusePlaintextPeer() throws Exception {
    final Transport secure = start(1, pkcs12("node1.p12"));
    final Transport plain = start(2, Map.of());

    assertThat(failureOf(plain.send(1, secure.localAddress(), vote(1, 2)))).isInstanceOf(UnreachableException.class);
    assertThat(failureOf(secure.send(2, plain.localAddress(), vote(1, 1)))).isInstanceOf(UnreachableException.class);
    assertThat(served(secure)).isZero();
    assertThat(served(plain)).isZero();
  }

  @Test
  void shouldRefuseATrustedNodeOfAnotherCluster() throws Exception {
    final Transport n1 = start(1, "c1", pkcs12("node1.p12"));
    final Transport other = start(2, "c2", pkcs12("node2.p12"));

    assertThat(failureOf(other.send(1, n1.localAddress(), vote(1, 2))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("clusterId=c1")
        .hasMessageContaining("clusterId=c2");
    assertThat(failureOf(n1.send(2, other.localAddress(), vote(1, 1)))).isInstanceOf(UnreachableException.class);
    assertThat(served(n1)).isZero();
    assertThat(served(other)).isZero();
  }

  // ------------------------------------------------------------------------------ configuration

  @Test
  void shouldRefuseToStartWithoutTlsWhenTlsIsRequired() {
    assertThatThrownBy(() -> start(1, Map.of(NettyOptions.TLS_REQUIRED, "true")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo(NettyOptions.TLS_REQUIRED))
        .hasMessageContaining("netty.tls.required=true");
    assertThatThrownBy(() -> start(1, Map.of(NettyOptions.TLS_REQUIRED, "yes")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("must be true or false");
  }

  @Test
  void shouldStartWithTlsRequiredAndConfigured() throws Exception {
    final Map<String, String> options = new HashMap<>(pem());
    options.put(NettyOptions.TLS_REQUIRED, "true");
    final Transport n1 = start(1, options);
    final Transport n2 = start(2, pkcs12("node2.p12"));

    assertThat(n2.send(1, n1.localAddress(), vote(1, 2))).succeedsWithin(WAIT);
  }

  @Test
  void shouldNameTheOptionOfAnIncompleteOrAmbiguousTlsConfiguration() {
    final String chain = tls("node1.crt.pem").toString();
    final String key = tls("node1.key.pem").toString();
    final String ca = tls("ca.pem").toString();
    assertField(Map.of(NettyOptions.CERT_CHAIN, chain, NettyOptions.TRUST_CERTS, ca), NettyOptions.PRIVATE_KEY);
    assertField(Map.of(NettyOptions.PRIVATE_KEY, key, NettyOptions.TRUST_CERTS, ca), NettyOptions.CERT_CHAIN);
    assertField(Map.of(NettyOptions.CERT_CHAIN, chain, NettyOptions.PRIVATE_KEY, key), NettyOptions.TRUST_STORE);
    assertField(Map.of(NettyOptions.TRUST_CERTS, ca), NettyOptions.KEY_STORE);
    final Map<String, String> both = new HashMap<>(pkcs12("node1.p12"));
    both.put(NettyOptions.CERT_CHAIN, chain);
    both.put(NettyOptions.PRIVATE_KEY, key);
    assertField(both, NettyOptions.CERT_CHAIN);
    final Map<String, String> twoTrusts = new HashMap<>(pkcs12("node1.p12"));
    twoTrusts.put(NettyOptions.TRUST_CERTS, ca);
    assertField(twoTrusts, NettyOptions.TRUST_CERTS);
  }

  private void assertField(final Map<String, String> options, final String field) {
    assertThatThrownBy(() -> start(1, options))
        .as("%s", options)
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo(field))
        .hasMessageContaining(field);
  }

  @Test
  void shouldSayWhichFilesItCannotUse() throws Exception {
    final Map<String, String> wrongPassword = new HashMap<>(pkcs12("node1.p12"));
    wrongPassword.put(NettyOptions.KEY_STORE_PASSWORD, "wrong");
    assertThatThrownBy(() -> start(1, wrongPassword))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("nodeId=1: cannot set up TLS from netty.tls.keyStore=" + tls("node1.p12"));

    final Path garbage = scratch.resolve("garbage.pem");
    Files.writeString(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n", StandardCharsets.US_ASCII);
    final Map<String, String> badPem = new HashMap<>(pem());
    badPem.put(NettyOptions.CERT_CHAIN, garbage.toString());
    assertThatThrownBy(() -> start(1, badPem))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("netty.tls.certChain=" + garbage);

    final Map<String, String> missing = new HashMap<>(pem());
    missing.put(NettyOptions.TRUST_CERTS, scratch.resolve("absent.pem").toString());
    assertThatThrownBy(() -> start(1, missing))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("netty.tls.trustCerts=" + scratch.resolve("absent.pem"));
  }
}
