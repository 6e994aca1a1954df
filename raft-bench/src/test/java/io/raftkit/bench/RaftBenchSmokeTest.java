package io.raftkit.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** A short run (about 3 s) on local + memory: the command works end to end; no figures are checked. */
class RaftBenchSmokeTest {

  @Test
  void shouldPrintAResultLineWithWritesDone() {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = RaftBench.execute(
        new String[] {"--transport", "local", "--storage", "memory", "--clients", "8", "--warmup", "1",
            "--seconds", "2"},
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    final String report = out.toString(StandardCharsets.UTF_8);
    assertThat(code).as("exit code; stderr: %s%nstdout: %s", err, report).isZero();
    final Matcher m = Pattern.compile(
            "(?m)^RESULT system=raftkit nodes=3 clients=8 payload=128 sync=false transport=local storage=memory "
                + "ops_per_s=(\\d+) p50_us=\\d+ p99_us=\\d+ p999_us=\\d+$")
        .matcher(report);
    assertThat(m.find()).as(report).isTrue();
    assertThat(Long.parseLong(m.group(1))).isPositive();
    assertThat(report).containsPattern("(?m)^warmup +1 s:").containsPattern("(?m)^measure +3 s:");
  }
}
