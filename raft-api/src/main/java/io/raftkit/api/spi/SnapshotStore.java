package io.raftkit.api.spi;

import io.raftkit.api.SnapshotMeta;
import java.io.IOException;
import java.util.Optional;

/**
 * Where a node keeps its state-machine snapshots. A snapshot is written in chunks and made
 * visible atomically by {@link SnapshotWriter#finish()}; an unfinished snapshot is never visible,
 * and a crash while writing leaves the previous snapshot in place.
 */
public interface SnapshotStore {

  /**
   * Starts writing a snapshot.
   *
   * @param meta what the snapshot holds
   * @return a writer owned by the caller
   * @throws IOException if it cannot be started
   */
  SnapshotWriter begin(SnapshotMeta meta) throws IOException;

  /**
   * Opens the latest finished snapshot, if any.
   *
   * @return a reader owned by the caller, or empty
   * @throws IOException if it cannot be opened
   */
  Optional<SnapshotReader> openLatest() throws IOException;
}
