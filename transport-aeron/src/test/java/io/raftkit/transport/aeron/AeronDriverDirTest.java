package io.raftkit.transport.aeron;

import static org.assertj.core.api.Assertions.assertThat;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where an embedded media driver's directory goes, and how leftovers of killed drivers are removed. */
class AeronDriverDirTest {

  @Test
  void shouldPreferAWritableShmDirectoryAndFallBackToTmp(@TempDir final Path root) throws Exception {
    final Path shm = Files.createDirectory(root.resolve("shm"));
    final Path tmp = Files.createDirectory(root.resolve("tmp"));
    assertThat(AeronTransport.defaultDriverParent(shm, tmp)).isEqualTo(shm);
    assertThat(AeronTransport.defaultDriverParent(root.resolve("missing"), tmp)).isEqualTo(tmp);
    final Path file = Files.createFile(root.resolve("a-file"));
    assertThat(AeronTransport.defaultDriverParent(file, tmp)).isEqualTo(tmp);
  }

  @Test
  void shouldDeleteOnlyTheSameNodesDirectoriesWhoseDriverIsNotRunning(@TempDir final Path parent) throws Exception {
    final String prefix = "raftkit-aeron-c-node1-";
    // What a killed JVM leaves: a driver directory with no live driver behind it.
    final Path dead = Files.createDirectory(parent.resolve(prefix + "dead"));
    Files.writeString(dead.resolve("cnc.dat"), "not a live driver");
    final Path otherNode = Files.createDirectory(parent.resolve("raftkit-aeron-c-node12-dead"));
    final Path otherCluster = Files.createDirectory(parent.resolve("raftkit-aeron-d-node1-dead"));
    final Path live = parent.resolve(prefix + "live");
    try (MediaDriver driver =
        MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(live.toString())
            .threadingMode(ThreadingMode.SHARED)
            .dirDeleteOnShutdown(true)
            .printConfigurationOnStart(false))) {
      assertThat(AeronTransport.deleteDeadDriverDirs(parent, prefix, 10_000)).isEqualTo(1);

      assertThat(dead).doesNotExist();
      assertThat(live).isDirectory();
      assertThat(otherNode).isDirectory();
      assertThat(otherCluster).isDirectory();
    }
  }
}
