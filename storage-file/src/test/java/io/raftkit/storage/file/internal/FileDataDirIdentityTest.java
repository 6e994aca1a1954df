package io.raftkit.storage.file.internal;

import io.raftkit.storage.file.FileStorage;
import io.raftkit.testkit.storage.DataDirIdentityTck;

/** The {@code "file"} provider refuses a data directory of another node or cluster. */
class FileDataDirIdentityTest extends DataDirIdentityTck {

  @Override
  protected String providerName() {
    return FileStorage.NAME;
  }
}
