package io.raftkit.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FsyncProbeTest {

  @TempDir Path dir;

  @Test
  void shouldTimeEveryWriteOfEveryThreadAndLeaveNoFileBehind() throws Exception {
    final long[] nanos = FsyncProbe.measure(2, 100, 5, dir, true, true);
    assertThat(nanos).hasSize(10).isSorted();
    assertThat(nanos[0]).isPositive();
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void shouldPrintALinePerSetUp() throws Exception {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    FsyncProbe.run(1, 64, 4, dir, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines())
        .hasSize(4)
        .allMatch(l -> l.contains("threads=1 bytes=64 count=4: p50 "))
        .anyMatch(l -> l.startsWith("extend "))
        .anyMatch(l -> l.startsWith("prealloc +slot"));
  }
}
