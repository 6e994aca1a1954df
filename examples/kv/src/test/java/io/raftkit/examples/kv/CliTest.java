package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CliTest {

  private static final String PEERS = "1=127.0.0.1:7001@127.0.0.1:8001,2=127.0.0.1:7002@127.0.0.1:8002";

  @Test
  void shouldParseServe() throws Exception {
    final Cli.Serve s = (Cli.Serve) Cli.parse(new String[] {
        "serve", "--id", "2", "--peers", PEERS, "--data", "/tmp/x", "--storage=rocksdb", "--init"});
    assertThat(s.init()).isTrue();
    assertThat(s.settings().id()).isEqualTo(2);
    assertThat(s.settings().storage()).isEqualTo("rocksdb");
    assertThat(s.settings().transport()).isEqualTo("netty");
    assertThat(s.settings().dataDir()).isEqualTo(Path.of("/tmp/x"));
    assertThat(s.settings().raftBind()).isEqualTo("127.0.0.1:7002");
    assertThat(s.settings().httpBind()).isEqualTo("127.0.0.1:8002");
    assertThat(s.settings().httpAddressOf(1)).isEqualTo("127.0.0.1:8001");
    assertThat(s.settings().initialMembership().nodes()).containsEntry(1L, "127.0.0.1:7001").hasSize(2);
  }

  @Test
  void shouldParseAFutureLearnerThatIsNotInTheInitialMembership() throws Exception {
    final Cli.Serve s = (Cli.Serve) Cli.parse(new String[] {
        "serve", "--id", "2", "--peers", PEERS, "--storage", "memory", "--learner"});
    assertThat(s.init()).isFalse();
    assertThat(s.settings().learner()).isTrue();
    assertThat(s.settings().initialMembership().nodes()).containsOnlyKeys(1L);
    assertThat(s.settings().httpAddressOf(1)).isEqualTo("127.0.0.1:8001");
  }

  @Test
  void shouldParseServeWithBindOverridesAndMemoryWithoutData() throws Exception {
    final Cli.Serve s = (Cli.Serve) Cli.parse(new String[] {
        "serve", "--id", "1", "--peers", PEERS, "--storage", "memory", "--transport", "aeron",
        "--raft", "0.0.0.0:7001", "--http", "0.0.0.0:8001"});
    assertThat(s.settings().raftBind()).isEqualTo("0.0.0.0:7001");
    assertThat(s.settings().transport()).isEqualTo("aeron");
    assertThat(s.settings().dataDir()).isNull();
  }

  @Test
  void shouldParseDemoClusterAndHelp() throws Exception {
    assertThat(Cli.parse(new String[] {"demo"})).isEqualTo(new Cli.Demo(2000, "file", "netty"));
    assertThat(Cli.parse(new String[] {"demo", "--writes", "10", "--storage", "memory"}))
        .isEqualTo(new Cli.Demo(10, "memory", "netty"));
    assertThat(Cli.parse(new String[] {"cluster", "--dir", "d", "--raft-port", "9000"}))
        .isEqualTo(new Cli.Cluster(Path.of("d"), "file", "netty", 9000, 8101));
    assertThat(Cli.parse(new String[] {})).isInstanceOf(Cli.Help.class);
    assertThat(Cli.parse(new String[] {"--help"})).isInstanceOf(Cli.Help.class);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "bogus                                                              | bogus",
      "serve --peers P                                                    | --id",
      "serve --id 1                                                       | --peers",
      "serve --id x --peers P --data d                                    | --id",
      "serve --id 0 --peers P --data d                                    | --id",
      "serve --id 3 --peers P --data d                                    | --peers",
      "serve --id 1 --peers 1=nohost --data d                             | --peers",
      "serve --id 1 --peers 1=a:1@b:99999 --data d                        | --peers",
      "serve --id 1 --peers P                                             | --data",
      "serve --id 1 --peers P --data d --transport carrier-pigeon         | --transport",
      "serve --id 1 --peers P --data d --storage tape                     | --storage",
      "serve --id 1 --peers P --data d --raft nope                        | --raft",
      "serve --id 1 --peers P --data d --http 1.2.3.4:-1                  | --http",
      "serve --id 1 --peers P --data d --bogus 1                          | --bogus",
      "serve --id 1 --peers P --data d --id 2                             | --id",
      "serve --id 1 --peers P --data d --init=yes                         | --init",
      "serve --id 1 --peers P --data                                      | --data",
      "serve --id 1 --peers P --data d extra                              | extra",
      "serve --id 1 --peers P --data d --learner --init                   | --learner",
      "serve --id 1 --peers P --data d --learner=yes                      | --learner",
      "demo --writes -5                                                   | --writes",
      "demo --writes 2000000                                              | --writes",
      "demo --nodes 5                                                     | --nodes",
      "cluster --raft-port 70000                                          | --raft-port",
      "cluster --raft-port 8100                                           | --http-port",
      "serve --id 1 --peers P --data d --http-client-auth maybe           | --http-client-auth",
      "serve --id 1 --peers P --data d --http-client-auth required        | --http-client-auth",
      "serve --id 1 --peers P --data d --http-tls-cert /nonexistent/c.pem | --http-tls-cert",
      "serve --id 1 --peers P --data d --raft-tls-trust /nonexistent/ca   | --raft-tls-trust"})
  void shouldExitTwoNamingTheBadOption(final String line, final String option) {
    final String[] args = line.trim().replace("P", PEERS).split("\\s+");
    assertThatThrownBy(() -> Cli.parse(args))
        .isInstanceOfSatisfying(Cli.UsageException.class, e -> assertThat(e.option()).isEqualTo(option))
        .hasMessageContaining(option);
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("raft-kv: " + option + ": ").contains("usage:");
    assertThat(out.size()).isZero();
  }

  @Test
  void shouldParseTlsOptions() throws Exception {
    final String cert = HttpTlsTest.tls("node1.crt.pem").toString();
    final String key = HttpTlsTest.tls("node1.key.pem").toString();
    final String ca = HttpTlsTest.tls("ca.pem").toString();
    final Cli.Serve s = (Cli.Serve) Cli.parse(new String[] {
        "serve", "--id", "1", "--peers", PEERS, "--storage", "memory", "--raft-tls-cert", cert, "--raft-tls-key", key,
        "--raft-tls-trust", ca, "--http-tls-cert", cert, "--http-tls-key", key, "--http-tls-trust", ca,
        "--http-client-auth", "required"});
    assertThat(s.tls()).isEqualTo(new TlsSettings(
        Path.of(cert), Path.of(key), Path.of(ca), Path.of(cert), Path.of(key), Path.of(ca), true));
    assertThat(s.tls().raftOptions()).containsEntry("netty.tls.certChain", cert).containsEntry("netty.tls.required", "true");
    assertThat(s.tls().httpScheme()).isEqualTo("https");
    final Cli.Serve plain = (Cli.Serve) Cli.parse(new String[] {"serve", "--id", "1", "--peers", PEERS, "--storage", "memory"});
    assertThat(plain.tls()).isEqualTo(TlsSettings.NONE);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--raft-tls-cert C --raft-tls-key K                                   | --raft-tls-trust",
      "--raft-tls-cert C --raft-tls-key K --raft-tls-trust A --transport aeron | --raft-tls-cert",
      "--http-tls-cert C                                                    | --http-tls-key",
      "--http-tls-key K                                                     | --http-tls-cert",
      "--http-tls-cert C --http-tls-key K --http-client-auth required       | --http-tls-trust",
      "--http-tls-cert C --http-tls-key K --http-tls-trust A                | --http-tls-trust"})
  void shouldNameTheTlsOptionThatIsMissingOrMisplaced(final String tlsOptions, final String option) {
    final String[] tls = tlsOptions.trim()
        .replace(" C", " " + HttpTlsTest.tls("node1.crt.pem"))
        .replace(" K", " " + HttpTlsTest.tls("node1.key.pem"))
        .replace(" A", " " + HttpTlsTest.tls("ca.pem"))
        .split("\\s+");
    final String[] args = java.util.stream.Stream.concat(
        java.util.stream.Stream.of("serve", "--id", "1", "--peers", PEERS, "--storage", "memory"),
        java.util.stream.Stream.of(tls)).toArray(String[]::new);
    assertThatThrownBy(() -> Cli.parse(args))
        .isInstanceOfSatisfying(Cli.UsageException.class, e -> assertThat(e.option()).isEqualTo(option))
        .hasMessageContaining(option);
  }

  @Test
  void shouldReportAnUnknownProviderAsAUsageErrorOfTransport() {
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = Main.run(
        new String[] {"serve", "--id", "1", "--peers", "1=127.0.0.1:1@127.0.0.1:2", "--storage", "memory",
            "--transport", "aeron"},
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    // transport-aeron is not on this test's path: the lookup fails before anything binds.
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("raft-kv: --transport: no transport provider named 'aeron'")
        .contains("netty");
  }

  @Test
  void shouldPrintUsageForHelp() {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(Main.run(new String[] {"help"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err))
        .isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("raft-kv demo", "raft-kv serve", "raft-kv cluster");
  }
}
