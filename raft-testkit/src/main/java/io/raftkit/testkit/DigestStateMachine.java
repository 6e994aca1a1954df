package io.raftkit.testkit;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotSource;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import io.raftkit.api.spi.StateMachine;

/**
 * A volatile state machine that folds every applied command into a 64-bit digest, so that two
 * replicas can be compared in one number: same digest and count at the same {@link #lastApplied()}
 * means they applied the same commands in the same order.
 *
 * <p>For each {@link EntryKind#NORMAL} entry it folds the payload's length (4 bytes, big-endian)
 * and then its bytes into an FNV-1a hash, and counts the entry; {@code apply} returns the new count
 * (1 for the first command, 2 for the second, and so on). Blank and membership entries only move
 * {@link #lastApplied()} and return {@code null}.
 *
 * <p>It checks that entries come in order with no gap ({@code index == lastApplied + 1}) and
 * throws {@link IllegalStateException} otherwise, which stops the node: a harness should make
 * ordering bugs loud.
 *
 * <p>Volatile: a new instance reports {@link LogId#ZERO}, so the engine replays the whole log into
 * it, or restores it from the latest snapshot and replays the log after it. A snapshot is 36
 * bytes: a format tag, the last applied id, the count and the digest. Applied from one thread; {@link #progress()} and the other getters may be read from any
 * thread and always show one consistent point.
 */
public final class DigestStateMachine implements StateMachine<Long> {

  /** The FNV-1a 64-bit offset basis: the digest of nothing. */
  public static final long EMPTY_DIGEST = 0xcbf29ce484222325L;

  private static final long FNV_PRIME = 0x100000001b3L;
  private static final int SNAPSHOT_FORMAT = 0xD16E5701;

  /**
   * What the state machine has applied, as one consistent value.
   *
   * @param lastApplied the last entry applied, of any kind, or {@link LogId#ZERO}
   * @param appliedCount how many {@link EntryKind#NORMAL} entries were applied
   * @param digest the digest of their payloads, in order
   */
  public record Progress(LogId lastApplied, long appliedCount, long digest) {}

  // One immutable value per applied entry: readers on other threads see a consistent triple.
  private volatile Progress progress = new Progress(LogId.ZERO, 0, EMPTY_DIGEST);

  /** Creates an empty state machine. */
  public DigestStateMachine() {}

  /** {@inheritDoc} */
  @Override
  public LogId lastApplied() {
    return progress.lastApplied();
  }

  /**
   * {@inheritDoc}
   *
   * @return for a normal entry, how many normal entries have been applied including this one;
   *     otherwise {@code null}
   * @throws IllegalStateException if {@code entry} is not the next index
   */
  @Override
  public Long apply(final Entry entry) {
    final Progress now = progress;
    if (entry.index() != now.lastApplied().index() + 1) {
      throw new IllegalStateException(
          "entry " + entry.logId() + " applied after lastApplied=" + now.lastApplied() + ": expected index="
              + (now.lastApplied().index() + 1));
    }
    if (entry.kind() != EntryKind.NORMAL) {
      progress = new Progress(entry.logId(), now.appliedCount(), now.digest());
      return null;
    }
    final long digest = fold(now.digest(), entry.payload());
    final long count = now.appliedCount() + 1;
    progress = new Progress(entry.logId(), count, digest);
    return count;
  }

  /** Captures the current progress; writing it needs nothing else. */
  @Override
  public SnapshotSource snapshot() {
    final Progress p = progress;
    return out -> {
      final DataOutputStream data = new DataOutputStream(out);
      data.writeInt(SNAPSHOT_FORMAT);
      data.writeLong(p.lastApplied().term());
      data.writeLong(p.lastApplied().index());
      data.writeLong(p.appliedCount());
      data.writeLong(p.digest());
      data.flush();
    };
  }

  /**
   * Restores the progress a {@link #snapshot()} wrote.
   *
   * @throws IOException if the data is not such a snapshot, or names another last entry than
   *     {@code meta}
   */
  @Override
  public void restore(final SnapshotMeta meta, final InputStream in) throws IOException {
    final DataInputStream data = new DataInputStream(in);
    final int format = data.readInt();
    if (format != SNAPSHOT_FORMAT) {
      throw new IOException("snapshot " + meta.snapshotId() + " has format tag " + Integer.toHexString(format)
          + ", expected " + Integer.toHexString(SNAPSHOT_FORMAT));
    }
    final LogId last = LogId.of(data.readLong(), data.readLong());
    if (!last.equals(meta.lastLogId())) {
      throw new IOException("snapshot " + meta.snapshotId() + " holds state up to " + last + " but says "
          + meta.lastLogId());
    }
    final long count = data.readLong();
    final long digest = data.readLong();
    if (data.read() != -1) {
      throw new IOException("snapshot " + meta.snapshotId() + " has bytes after its 36-byte body");
    }
    progress = new Progress(last, count, digest);
  }

  /**
   * The digest after folding {@code payload} into {@code digest}: what applying one command with
   * that payload does.
   *
   * @param digest the digest before
   * @param payload the command
   * @return the digest after
   */
  public static long fold(final long digest, final byte[] payload) {
    long h = digest;
    final int n = payload.length;
    for (int shift = 24; shift >= 0; shift -= 8) {
      h = (h ^ ((n >>> shift) & 0xff)) * FNV_PRIME;
    }
    for (final byte b : payload) {
      h = (h ^ (b & 0xff)) * FNV_PRIME;
    }
    return h;
  }

  /**
   * The state as one consistent value.
   *
   * @return last applied, count and digest, read together
   */
  public Progress progress() {
    return progress;
  }

  /**
   * The digest of the commands applied so far.
   *
   * @return the digest; {@link #EMPTY_DIGEST} if none
   */
  public long digest() {
    return progress.digest();
  }

  /**
   * How many commands ({@link EntryKind#NORMAL} entries) were applied.
   *
   * @return the count
   */
  public long appliedCount() {
    return progress.appliedCount();
  }

  @Override
  public String toString() {
    final Progress p = progress;
    return "DigestStateMachine{lastApplied=" + p.lastApplied() + ", count=" + p.appliedCount() + ", digest="
        + Long.toHexString(p.digest()) + "}";
  }
}
