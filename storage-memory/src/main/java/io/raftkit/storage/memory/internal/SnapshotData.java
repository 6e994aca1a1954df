package io.raftkit.storage.memory.internal;

import io.raftkit.api.SnapshotMeta;
import java.util.Objects;

/**
 * A finished snapshot: its meta and its bytes. The array is owned by this record once built and is
 * never changed, so readers on any thread may share it.
 *
 * @param meta what the snapshot holds
 * @param data the snapshot's bytes
 */
record SnapshotData(SnapshotMeta meta, byte[] data) {

  SnapshotData {
    Objects.requireNonNull(meta, "meta");
    Objects.requireNonNull(data, "data");
  }
}
