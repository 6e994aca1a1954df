package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DemoTest {

  @Test
  void shouldRunTheDemoToTheEndAndExitZero() {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final int code = Main.run(new String[] {"demo", "--writes", "300"},
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    final String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(code).as("%s%n%s", printed, err).isZero();
    assertThat(printed).contains(
        "leader elected: node", "300 writes committed", "-> 307", "killed the leader", "new leader: node",
        "read all 300 keys back linearizably", "every value intact", "\"stale_possible\":true", "metrics:",
        "demo finished", "deleted");
  }
}
