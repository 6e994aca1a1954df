package io.raftkit.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchOptionsTest {

  @Test
  void shouldParseEveryOptionInBothForms() {
    final BenchOptions o = BenchOptions.parse(List.of("--nodes", "5", "--transport=local", "--storage", "rocksdb",
        "--clients", "7", "--payload=64", "--seconds", "3", "--warmup", "0", "--sync", "true",
        "--option", "file.preallocate=false", "--option=aeron.idleMaxParkMicros=50", "--commit-linger-us", "0"));
    assertThat(o.nodes()).isEqualTo(5);
    assertThat(o.transport()).isEqualTo("local");
    assertThat(o.storage()).isEqualTo("rocksdb");
    assertThat(o.clients()).isEqualTo(7);
    assertThat(o.payloadBytes()).isEqualTo(64);
    assertThat(o.seconds()).isEqualTo(3);
    assertThat(o.warmupSeconds()).isZero();
    assertThat(o.sync()).isTrue();
    assertThat(o.providerOptions())
        .containsExactlyInAnyOrderEntriesOf(Map.of("file.preallocate", "false", "aeron.idleMaxParkMicros", "50"));
    assertThat(o.commitLingerMicros()).isZero();
    assertThat(BenchOptions.parse(List.of()).commitLingerMicros()).as("the engine's default").isEqualTo(1_000);
  }

  @Test
  void shouldDefaultSyncToWhetherTheStorageIsDurable() {
    assertThat(BenchOptions.parse(List.of("--storage", "file")).sync()).isTrue();
    assertThat(BenchOptions.parse(List.of("--storage", "memory")).sync()).isFalse();
  }

  @Test
  void shouldRefuseSyncFalseOnStorageThatAlwaysSyncs() {
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--storage", "file", "--sync", "false")))
        .isInstanceOf(BenchOptions.UsageException.class)
        .hasMessageContaining("--sync false")
        .hasMessageContaining("no option to skip fsync");
  }

  @Test
  void shouldNameTheBadOption() {
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--clients", "many")))
        .isInstanceOf(BenchOptions.UsageException.class)
        .hasMessageContaining("--clients many")
        .extracting(e -> ((BenchOptions.UsageException) e).option())
        .isEqualTo("--clients");
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--transport", "carrier-pigeon")))
        .hasMessageContaining("--transport carrier-pigeon");
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--speed", "1")))
        .hasMessageContaining("unknown option --speed");
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--nodes")))
        .hasMessageContaining("--nodes needs a value");
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--option", "preallocate")))
        .hasMessageContaining("--option preallocate: must be key=value");
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--nodes", "0")))
        .hasMessageContaining("--nodes 0: must be within [1, 9]");
    assertThatThrownBy(() -> BenchOptions.parse(List.of("--commit-linger-us", "100000")))
        .hasMessageContaining("--commit-linger-us 100000: must be within [0, 99999]");
  }

  @Test
  void shouldExitWithTwoOnABadCommandLine() {
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = RaftBench.execute(new String[] {"--payload", "-1"}, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--payload -1").contains("usage: raft-bench");
  }
}
