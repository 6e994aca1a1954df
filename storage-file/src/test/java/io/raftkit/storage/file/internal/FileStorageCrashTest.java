package io.raftkit.storage.file.internal;

import io.raftkit.storage.file.FileStorage;
import io.raftkit.testkit.storage.StorageCrashTck;
import java.util.Map;

/** Kills a child JVM appending to a {@code "file"} store; 256 KiB segments so kills land near segment rolls too. */
class FileStorageCrashTest extends StorageCrashTck {

  @Override
  protected String providerName() {
    return FileStorage.NAME;
  }

  @Override
  protected Map<String, String> options() {
    return Map.of(FileStorage.SEGMENT_BYTES_OPTION, String.valueOf(256 * 1024));
  }
}
