package io.raftkit.transport.aeron;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.nio.file.Path;
import org.agrona.concurrent.BackoffIdleStrategy;

/** The external media driver the tests launch for transports with {@code aeron.embedded=false}. */
final class TestDrivers {

  private TestDrivers() {}

  /** Launches a one-thread driver in {@code dir} (deleted on start and on close), sparse term buffers. */
  static MediaDriver launch(final Path dir) {
    return MediaDriver.launch(
        new MediaDriver.Context()
            .aeronDirectoryName(dir.toString())
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new BackoffIdleStrategy(10, 5, 1_000, 1_000_000))
            .termBufferSparseFile(true)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true));
  }
}
