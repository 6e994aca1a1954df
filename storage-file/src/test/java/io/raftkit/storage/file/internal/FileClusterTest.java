package io.raftkit.storage.file.internal;

import io.raftkit.storage.file.FileStorage;
import io.raftkit.testkit.storage.StorageClusterTck;
import java.util.Map;

/** Three nodes on {@code "file"} storage, with 256 KiB segments, written to and restarted. */
class FileClusterTest extends StorageClusterTck {

  @Override
  protected String providerName() {
    return FileStorage.NAME;
  }

  @Override
  protected Map<String, String> options() {
    return Map.of(FileStorage.SEGMENT_BYTES_OPTION, String.valueOf(256 * 1024));
  }
}
