package io.raftkit.storage.file;

/**
 * The {@code "file"} storage provider: its name and options.
 *
 * <pre>{@code
 * Raft.<Long>builder()
 *     .storage(FileStorage.NAME).dataDir(Path.of("/var/lib/raft/node1"))
 *     .option(FileStorage.SEGMENT_BYTES_OPTION, "67108864")
 *     .option(FileStorage.PREALLOCATE_OPTION, "true")
 *     ...
 * }</pre>
 *
 * <p>A node's data directory holds {@code IDENTITY} (the node id and cluster id it belongs to: a
 * node of another id or cluster is refused, see {@link io.raftkit.api.spi.DataDirIdentity}), {@code
 * LOCK} (held while the store is open, so a second process cannot open it), {@code state} (vote,
 * purged id, committed hint), {@code log/} (the segments) and {@code snapshots/}.
 */
public final class FileStorage {

  /** The provider's name. */
  public static final String NAME = "file";

  /**
   * The option giving the size in bytes after which a log segment is closed and a new one begun;
   * from {@value #MIN_SEGMENT_BYTES} to {@value #MAX_SEGMENT_BYTES}, default {@value
   * #DEFAULT_SEGMENT_BYTES}. An entry larger than a segment gets a segment of its own.
   */
  public static final String SEGMENT_BYTES_OPTION = "file.segmentBytes";

  /**
   * The option turning segment preallocation on or off: {@code true} (the default) or {@code
   * false}. When on, once the active log segment is more than half full a background thread
   * ({@code raftkit-file-prealloc}) writes the next segment file ahead of time, zero-filled to the
   * segment size and forced, so that the {@code fdatasync} of each group commit overwrites blocks
   * already written and does not have to make a file-size change durable (about half the latency
   * on ext4). The price: a segment is written twice (zeros, then records), in the background,
   * until the log is purged behind snapshots; from then on the file of a purged segment is reused
   * for the next one instead ({@code recycle-segment.tmp} while it waits), and no zeros are
   * written. The log directory holds up to one unused segment file ({@code
   * prealloc-segment.tmp}) and one purged one. A roll never waits for the file: if it is not
   * ready, the segment is created unpreallocated. A failure to preallocate is logged and the log
   * carries on without.
   */
  public static final String PREALLOCATE_OPTION = "file.preallocate";

  /** The default segment size: 64 MiB. */
  public static final int DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

  /** The smallest segment size allowed: 4 KiB. */
  public static final int MIN_SEGMENT_BYTES = 4 * 1024;

  /** The largest segment size allowed: 1 GiB. */
  public static final int MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

  private FileStorage() {}
}
