package io.raftkit.testkit.storage;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Entries whose content is a function of their log id and size, so that any entry read back from
 * a store can be checked on its own ({@link #isIntact}), by the TCK and by crash tests in another
 * JVM alike.
 *
 * <p>Thread-safe (stateless).
 */
public final class TckEntries {

  private TckEntries() {}

  /**
   * A normal entry with a payload of {@code size} bytes derived from {@code (term, index)}.
   *
   * @param term the entry's term
   * @param index the entry's index, {@code >= 1}
   * @param size the payload size in bytes, {@code >= 0}
   * @return the entry
   */
  public static Entry entry(final long term, final long index, final int size) {
    return Entry.normal(LogId.of(term, index), payload(term, index, size));
  }

  /**
   * A normal entry with a small payload (16 to 47 bytes) derived from its id.
   *
   * @param term the entry's term
   * @param index the entry's index, {@code >= 1}
   * @return the entry
   */
  public static Entry entry(final long term, final long index) {
    return entry(term, index, 16 + (int) Math.floorMod(index * 7 + term, 32L));
  }

  /**
   * Entries {@code [from, to]} of one term, with small payloads.
   *
   * @param term the term of every entry
   * @param from the first index
   * @param to the last index, inclusive
   * @return the entries, in order
   */
  public static List<Entry> entries(final long term, final long from, final long to) {
    final List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(entry(term, i));
    }
    return out;
  }

  /**
   * The payload {@link #entry(long, long, int)} gives: a xorshift stream seeded by {@code (term,
   * index)}, so that neighbouring entries differ in every byte.
   *
   * @param term the entry's term
   * @param index the entry's index
   * @param size the number of bytes
   * @return the payload
   */
  public static byte[] payload(final long term, final long index, final int size) {
    final byte[] out = new byte[size];
    long x = (term * 0x9E3779B97F4A7C15L) ^ (index * 0xC2B2AE3D27D4EB4FL) ^ size;
    x = x == 0 ? 1 : x;
    for (int i = 0; i < size; i++) {
      if ((i & 7) == 0) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
      }
      out[i] = (byte) (x >>> ((i & 7) * 8));
    }
    return out;
  }

  /**
   * Whether an entry read back is one of {@link #entry(long, long, int)}'s, unchanged: a normal
   * entry whose payload is the one its log id and size give, or a blank entry.
   *
   * @param e the entry read back
   * @return whether it is intact
   */
  public static boolean isIntact(final Entry e) {
    if (e.kind() == EntryKind.BLANK) {
      return true;
    }
    return e.kind() == EntryKind.NORMAL
        && Arrays.equals(e.payload(), payload(e.term(), e.index(), e.payload().length));
  }

  /**
   * A snapshot meta with a two-voter membership.
   *
   * @param last the last log id the snapshot covers, index {@code >= 1}
   * @param id the snapshot id
   * @return the meta
   */
  public static SnapshotMeta snapshotMeta(final LogId last, final String id) {
    final Membership m = Membership.ofVoters(Map.of(1L, "node1", 2L, "node2"));
    return new SnapshotMeta(last, new StoredMembership(LogId.of(last.term(), 1), m), id);
  }
}
