package io.raftkit.testkit.storage;

import static io.raftkit.testkit.storage.TckEntries.entries;
import static io.raftkit.testkit.storage.TckEntries.entry;
import static io.raftkit.testkit.storage.TckEntries.snapshotMeta;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.SnapshotReader;
import io.raftkit.api.spi.SnapshotWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The storage conformance suite: what every {@link RaftStorage} must do, as JUnit 5 tests. A
 * provider's tests extend it and say how to open a store in a directory:
 *
 * <pre>{@code
 * class MyStorageTckTest extends StorageTck {
 *   @Override
 *   protected RaftStorage open(Path dir) throws IOException {
 *     return Providers.storage("my").open(new StorageContext(1, "tck", dir, Map.of()));
 *   }
 * }
 * }</pre>
 *
 * <p>Each test gets a fresh empty directory ({@link #dir()}), deleted afterwards. {@link #open}
 * is called again on the same directory to check what survives a close ("reopen"); a provider
 * without files maps the directory to something that survives a close (the {@code memory}
 * provider's store name), and may clean it up in {@link #destroy}.
 *
 * <p>What the suite decides where the SPI javadoc leaves room (every provider in this repository
 * does the same): an append whose term is below the previous entry's term is refused; {@code
 * saveCommitted} beyond the last log id is refused; a second open of a store that is open fails
 * with an {@link IOException}; after close every call throws {@link IllegalStateException} and a
 * second close does nothing; errors are {@link IllegalArgumentException} or {@link
 * IllegalStateException} whose message names the offending values as {@code name=value}.
 *
 * <p>The test methods are public so that the suite runs wherever this module sits (module path or
 * class path) without opening packages to JUnit.
 */
public abstract class StorageTck {

  /** The size of the large entry of {@link #shouldStoreAnEightMebibyteEntry()}. */
  public static final int LARGE_ENTRY_BYTES = 8 * 1024 * 1024;

  private Path dir;
  private RaftStorage storage;

  /** For subclasses. */
  protected StorageTck() {}

  /**
   * Opens the store kept in {@code dir}, creating it if the directory is empty.
   *
   * @param dir a directory that exists; the same directory on every reopen within a test
   * @return the open store
   * @throws IOException if it cannot be opened (for example while it is open already)
   */
  protected abstract RaftStorage open(Path dir) throws IOException;

  /**
   * Called after each test once its store is closed, before the directory is deleted: the place
   * to release what {@link #open} made outside the directory.
   *
   * @param dir the test's directory
   * @throws IOException if cleaning up fails
   */
  protected void destroy(final Path dir) throws IOException {}

  /**
   * The test's directory.
   *
   * @return the directory given to {@link #open}
   */
  protected final Path dir() {
    return dir;
  }

  /**
   * Creates the test's directory and opens the store in it.
   *
   * @throws IOException if either fails
   */
  @BeforeEach
  public final void openStore() throws IOException {
    dir = Files.createTempDirectory("raftkit-storage-tck-");
    storage = open(dir);
  }

  /**
   * Closes the store, calls {@link #destroy} and deletes the directory.
   *
   * @throws IOException if any step fails
   */
  @AfterEach
  public final void closeStore() throws IOException {
    try {
      if (storage != null) {
        storage.close();
      }
      destroy(dir);
    } finally {
      deleteRecursively(dir);
    }
  }

  // ------------------------------------------------------------------ helpers

  private LogStore log() {
    return storage.log();
  }

  /** Syncs, closes and opens the store again. */
  private void reopen() throws IOException {
    storage.log().sync();
    closeAndReopen();
  }

  /** Closes (without syncing first) and opens the store again. */
  private void closeAndReopen() throws IOException {
    final RaftStorage old = storage;
    storage = null;
    old.close();
    storage = open(dir);
  }

  private List<Entry> readAll() throws IOException {
    return log().read(log().firstIndex(), log().lastLogId().index() + 1, Long.MAX_VALUE);
  }

  private static byte[] bytes(final int size, final long seed) {
    final byte[] out = new byte[size];
    new SplittableRandom(seed).nextBytes(out);
    return out;
  }

  private static byte[] readFully(final SnapshotReader reader) throws IOException {
    final long size = reader.size();
    final ByteBuffer buf = ByteBuffer.allocate((int) size);
    long pos = 0;
    while (buf.hasRemaining()) {
      final int n = reader.read(pos, buf);
      if (n < 0) {
        break;
      }
      pos += n;
    }
    assertThat(pos).as("bytes read of snapshot size=%d", size).isEqualTo(size);
    return buf.array();
  }

  private void writeSnapshot(final SnapshotMeta meta, final byte[] data, final int chunk) throws IOException {
    try (SnapshotWriter w = storage.snapshots().begin(meta)) {
      for (int off = 0; off < data.length; off += chunk) {
        w.write(ByteBuffer.wrap(data, off, Math.min(chunk, data.length - off)));
      }
      w.finish();
    }
  }

  private static void deleteRecursively(final Path root) throws IOException {
    if (root == null || !Files.exists(root)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(final Path d, final IOException e) throws IOException {
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  // ------------------------------------------------------------------ empty store

  /**
   * A new store is empty: no entries, nothing purged, no vote, nothing committed, no snapshot.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldStartEmpty() throws IOException {
    assertThat(log().lastLogId()).isEqualTo(LogId.ZERO);
    assertThat(log().purgedLogId()).isEqualTo(LogId.ZERO);
    assertThat(log().firstIndex()).isEqualTo(1);
    assertThat(log().read(1, 1, Long.MAX_VALUE)).isEmpty();
    assertThat(storage.readVote()).isEqualTo(Vote.NONE);
    assertThat(storage.readCommitted()).isEqualTo(LogId.ZERO);
    assertThat(storage.snapshots().openLatest()).isEmpty();
  }

  /**
   * A new store reopened is still empty.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldStayEmptyAcrossReopen() throws IOException {
    reopen();

    assertThat(log().lastLogId()).isEqualTo(LogId.ZERO);
    assertThat(log().purgedLogId()).isEqualTo(LogId.ZERO);
    assertThat(storage.readVote()).isEqualTo(Vote.NONE);
    assertThat(storage.snapshots().openLatest()).isEmpty();
  }

  // ------------------------------------------------------------------ append and read

  /**
   * Reads are half-open: {@code read(from, to)} returns {@code [from, to)}.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldAppendAndReadHalfOpenRanges() throws IOException {
    log().append(entries(1, 1, 5));

    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 5));
    assertThat(log().read(2, 4, Long.MAX_VALUE)).containsExactly(entry(1, 2), entry(1, 3));
    assertThat(log().read(1, 6, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 5));
    assertThat(log().read(3, 3, Long.MAX_VALUE)).isEmpty();
    assertThat(log().read(6, 6, Long.MAX_VALUE)).isEmpty();
  }

  /**
   * Many appends in a row read back as one log.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldAppendManyBatches() throws IOException {
    for (long i = 1; i <= 100; i += 10) {
      log().append(entries(1, i, i + 9));
    }

    assertThat(readAll()).containsExactlyElementsOf(entries(1, 1, 100));
  }

  /**
   * Appending an empty list changes nothing.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldTreatEmptyAppendAsNoOp() throws IOException {
    log().append(List.of());
    log().append(entries(1, 1, 2));
    log().append(List.of());

    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 2));
  }

  /**
   * Terms may go up inside a batch and between batches.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldAcceptRisingTerms() throws IOException {
    log().append(List.of(entry(1, 1), entry(2, 2), entry(2, 3)));
    log().append(List.of(entry(5, 4)));

    assertThat(readAll()).containsExactly(entry(1, 1), entry(2, 2), entry(2, 3), entry(5, 4));
    assertThat(log().lastLogId()).isEqualTo(LogId.of(5, 4));
  }

  /**
   * Normal, blank and membership entries keep their kind and payload.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepEveryEntryKind() throws IOException {
    final Membership m = Membership.ofVoters(Map.of(1L, "a:1", 2L, "b:2", 3L, "c:3"));
    final List<Entry> batch =
        List.of(Entry.membership(LogId.of(0, 1), m), Entry.blank(LogId.of(1, 2)), entry(1, 3));
    log().append(batch);

    assertThat(readAll()).containsExactlyElementsOf(batch);
    assertThat(readAll().get(0).membership()).isEqualTo(m);
    reopen();
    assertThat(readAll()).containsExactlyElementsOf(batch);
  }

  /**
   * Empty payloads are stored and read back as empty.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldStoreEmptyPayloads() throws IOException {
    final List<Entry> batch = List.of(entry(1, 1, 0), Entry.blank(LogId.of(1, 2)), entry(1, 3, 0), entry(1, 4, 1));
    log().append(batch);

    assertThat(readAll()).containsExactlyElementsOf(batch);
    reopen();
    assertThat(readAll()).containsExactlyElementsOf(batch);
    assertThat(readAll().get(0).payload()).isEmpty();
  }

  /**
   * An 8 MiB entry is stored and read back intact, also after a reopen.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldStoreAnEightMebibyteEntry() throws IOException {
    final Entry large = Entry.normal(LogId.of(1, 2), bytes(LARGE_ENTRY_BYTES, 42));
    log().append(List.of(entry(1, 1), large, entry(1, 3)));

    assertThat(log().read(2, 3, Long.MAX_VALUE)).containsExactly(large);
    reopen();
    assertThat(log().read(1, 4, Long.MAX_VALUE)).containsExactly(entry(1, 1), large, entry(1, 3));
    assertThat(log().read(1, 4, 1)).containsExactly(entry(1, 1));
    assertThat(log().read(2, 4, 1)).containsExactly(large);
  }

  /**
   * A read stops after the entry that brings the payload total to {@code maxBytes}.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldStopReadAtTheEntryReachingMaxBytes() throws IOException {
    log().append(List.of(entry(1, 1, 10), entry(1, 2, 10), entry(1, 3, 10), entry(1, 4, 10)));

    assertThat(log().read(1, 5, 20)).extracting(Entry::index).containsExactly(1L, 2L);
    assertThat(log().read(1, 5, 21)).extracting(Entry::index).containsExactly(1L, 2L, 3L);
    assertThat(log().read(1, 5, 15)).extracting(Entry::index).containsExactly(1L, 2L);
    assertThat(log().read(2, 5, Long.MAX_VALUE)).extracting(Entry::index).containsExactly(2L, 3L, 4L);
  }

  /**
   * A non-empty range returns at least one entry, however small {@code maxBytes} is.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldReturnOneEntryEvenIfItExceedsMaxBytes() throws IOException {
    log().append(List.of(entry(1, 1, 100), entry(1, 2, 1)));

    assertThat(log().read(1, 3, 10)).extracting(Entry::index).containsExactly(1L);
    assertThat(log().read(1, 3, 0)).extracting(Entry::index).containsExactly(1L);
  }

  /**
   * Empty payloads do not count towards {@code maxBytes}.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldNotStopOnEmptyPayloads() throws IOException {
    log().append(List.of(Entry.blank(LogId.of(1, 1)), Entry.blank(LogId.of(1, 2)), entry(1, 3, 5), entry(1, 4, 5)));

    assertThat(log().read(1, 5, 1)).extracting(Entry::index).containsExactly(1L, 2L, 3L);
  }

  /**
   * The list returned belongs to the caller: later writes do not change it, and changing it does
   * not change the log.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldReturnAListTheCallerMayKeep() throws IOException {
    log().append(entries(1, 1, 3));
    final List<Entry> read = log().read(1, 4, Long.MAX_VALUE);

    log().truncateSuffix(2);
    log().append(entries(2, 2, 3));

    assertThat(read).containsExactlyElementsOf(entries(1, 1, 3));
    read.clear();
    assertThat(log().read(1, 4, Long.MAX_VALUE)).containsExactly(entry(1, 1), entry(2, 2), entry(2, 3));
  }

  /**
   * Reads of many entries of mixed sizes, in ranges that cross (file) segment boundaries, return
   * exactly what was appended, before and after a reopen.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldReadAcrossSegmentBoundaries() throws IOException {
    final SplittableRandom random = new SplittableRandom(7);
    final List<Entry> all = new ArrayList<>();
    long index = 1;
    while (index <= 3000) {
      final List<Entry> batch = new ArrayList<>();
      final int n = 1 + random.nextInt(40);
      for (int i = 0; i < n && index <= 3000; i++, index++) {
        final int size = random.nextInt(10) == 0 ? 20_000 + random.nextInt(50_000) : random.nextInt(3000);
        batch.add(entry(1 + index / 1000, index, size));
      }
      log().append(batch);
      all.addAll(batch);
    }
    checkRandomRanges(all, random);
    reopen();
    checkRandomRanges(all, random);
    assertThat(readAll()).containsExactlyElementsOf(all);
  }

  private void checkRandomRanges(final List<Entry> all, final SplittableRandom random) throws IOException {
    for (int r = 0; r < 200; r++) {
      final int from = 1 + random.nextInt(all.size());
      final int to = from + random.nextInt(all.size() - from + 2);
      final List<Entry> read = log().read(from, to, Long.MAX_VALUE);
      assertThat(read).as("read [%d, %d)", from, to).containsExactlyElementsOf(all.subList(from - 1, to - 1));
    }
  }

  // ------------------------------------------------------------------ illegal appends and reads

  /**
   * An append that leaves a gap is refused, names the indexes, and appends nothing.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectGapAndAppendNothing() throws IOException {
    log().append(entries(1, 1, 3));

    assertThatThrownBy(() -> log().append(entries(1, 5, 6)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index=5");
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 3));
    assertThatThrownBy(() -> log().append(entries(1, 10, 12))).isInstanceOf(IllegalArgumentException.class);
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 1, 3));
  }

  /**
   * An append on an empty log must start at index 1.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectFirstAppendNotAtIndexOne() throws IOException {
    assertThatThrownBy(() -> log().append(entries(1, 2, 3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index=2");
    assertThat(log().lastLogId()).isEqualTo(LogId.ZERO);
    log().append(entries(1, 1, 1));
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 1));
  }

  /**
   * An append that overlaps the log is refused and appends nothing.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectOverlapAndAppendNothing() throws IOException {
    log().append(entries(1, 1, 3));

    assertThatThrownBy(() -> log().append(entries(1, 3, 5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index=3");
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 1, 3));
  }

  /**
   * A batch with a gap inside is refused whole: not even its good prefix is appended.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectBatchWithInnerGapWithoutAppendingItsPrefix() throws IOException {
    log().append(entries(1, 1, 2));
    final List<Entry> batch = List.of(entry(1, 3), entry(1, 4), entry(1, 6));

    assertThatThrownBy(() -> log().append(batch))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index=6");
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 2));
    reopen();
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 2));
  }

  /**
   * An entry whose term is below the previous entry's term is refused.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectTermGoingDown() throws IOException {
    log().append(entries(3, 1, 2));

    assertThatThrownBy(() -> log().append(List.of(entry(3, 3), entry(2, 4))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("term=2");
    assertThat(log().lastLogId()).isEqualTo(LogId.of(3, 2));
  }

  /**
   * A read that starts below the first index is refused, naming both.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectReadBelowFirstIndex() throws IOException {
    log().append(entries(1, 1, 5));
    log().purgePrefix(LogId.of(1, 2));

    assertThatThrownBy(() -> log().read(2, 4, Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fromIndex=2")
        .hasMessageContaining("firstIndex=3");
    assertThatThrownBy(() -> log().read(0, 4, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * A read that ends past {@code lastIndex + 1} is refused, naming it.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectReadPastTheEnd() throws IOException {
    log().append(entries(1, 1, 5));

    assertThatThrownBy(() -> log().read(3, 7, Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("toIndex=7");
    assertThatThrownBy(() -> log().read(7, 7, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * A range whose end is before its start is refused.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectReversedRange() throws IOException {
    log().append(entries(1, 1, 5));

    assertThatThrownBy(() -> log().read(4, 3, Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fromIndex=4");
  }

  // ------------------------------------------------------------------ truncate

  /**
   * Truncating at the first index empties the log; the last log id falls back to the purged id.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldTruncateAtTheFirstIndex() throws IOException {
    log().append(entries(1, 1, 5));

    log().truncateSuffix(1);

    assertThat(log().lastLogId()).isEqualTo(LogId.ZERO);
    assertThat(log().read(1, 1, Long.MAX_VALUE)).isEmpty();
    log().append(entries(2, 1, 2));
    assertThat(readAll()).containsExactlyElementsOf(entries(2, 1, 2));
  }

  /**
   * Truncating in the middle removes the suffix; a new term's entries follow.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldTruncateInTheMiddleAndAppendANewTerm() throws IOException {
    log().append(entries(1, 1, 5));

    log().truncateSuffix(3);

    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 2));
    assertThatThrownBy(() -> log().read(1, 4, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
    log().append(entries(2, 3, 4));
    assertThat(readAll()).containsExactly(entry(1, 1), entry(1, 2), entry(2, 3), entry(2, 4));
  }

  /**
   * Truncating past the end removes nothing.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldIgnoreTruncationPastTheEnd() throws IOException {
    log().append(entries(1, 1, 3));

    log().truncateSuffix(4);
    log().truncateSuffix(100);

    assertThat(readAll()).containsExactlyElementsOf(entries(1, 1, 3));
  }

  /**
   * Truncating in the purged prefix is refused and changes nothing.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectTruncationInThePurgedPrefix() throws IOException {
    log().append(entries(1, 1, 5));
    log().purgePrefix(LogId.of(1, 3));

    assertThatThrownBy(() -> log().truncateSuffix(3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fromIndex=3");
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 5));
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 4, 5));
  }

  /**
   * Truncating the whole log after a purge falls back to the purged id.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldFallBackToThePurgedIdWhenTruncatedToEmpty() throws IOException {
    log().append(entries(1, 1, 5));
    log().purgePrefix(LogId.of(1, 2));

    log().truncateSuffix(3);

    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 2));
    log().append(entries(2, 3, 3));
    assertThat(log().lastLogId()).isEqualTo(LogId.of(2, 3));
  }

  /**
   * A synced truncation survives a reopen: the removed entries never come back.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepSyncedTruncationAcrossReopen() throws IOException {
    log().append(entries(1, 1, 10));
    log().sync();
    log().truncateSuffix(4);
    log().append(entries(2, 4, 5));

    reopen();

    assertThat(readAll()).containsExactly(entry(1, 1), entry(1, 2), entry(1, 3), entry(2, 4), entry(2, 5));
  }

  // ------------------------------------------------------------------ purge

  /**
   * Purging the prefix moves the first index; the rest stays readable.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldPurgeThePrefix() throws IOException {
    log().append(entries(1, 1, 10));

    log().purgePrefix(LogId.of(1, 4));

    assertThat(log().purgedLogId()).isEqualTo(LogId.of(1, 4));
    assertThat(log().firstIndex()).isEqualTo(5);
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 10));
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 5, 10));
  }

  /**
   * Purging up to the last entry empties the log; the last log id is the purged id.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldPurgeEverything() throws IOException {
    log().append(entries(1, 1, 5));

    log().purgePrefix(LogId.of(1, 5));

    assertThat(log().purgedLogId()).isEqualTo(LogId.of(1, 5));
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 5));
    assertThat(log().read(6, 6, Long.MAX_VALUE)).isEmpty();
    log().append(entries(1, 6, 7));
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 6, 7));
  }

  /**
   * Purging past the last entry (as after installing a snapshot) empties the log; appends go on
   * after the purged id, also after a reopen.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldPurgePastTheLastEntry() throws IOException {
    log().append(entries(1, 1, 3));

    log().purgePrefix(LogId.of(4, 20));

    assertThat(log().purgedLogId()).isEqualTo(LogId.of(4, 20));
    assertThat(log().lastLogId()).isEqualTo(LogId.of(4, 20));
    assertThat(log().firstIndex()).isEqualTo(21);
    assertThat(log().read(21, 21, Long.MAX_VALUE)).isEmpty();
    log().append(entries(4, 21, 22));
    reopen();
    assertThat(log().purgedLogId()).isEqualTo(LogId.of(4, 20));
    assertThat(readAll()).containsExactlyElementsOf(entries(4, 21, 22));
  }

  /**
   * Purging below the purged id is refused; purging at it is a no-op.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRejectPurgeBelowThePurgedIdAndIgnoreTheSame() throws IOException {
    log().append(entries(1, 1, 5));
    log().purgePrefix(LogId.of(1, 3));

    assertThatThrownBy(() -> log().purgePrefix(LogId.of(1, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("upTo=1-2");
    log().purgePrefix(LogId.of(1, 3));
    assertThat(log().purgedLogId()).isEqualTo(LogId.of(1, 3));
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 4, 5));
  }

  /**
   * A synced purge survives a reopen (the purged id never goes back below what was synced).
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepPurgeAcrossReopen() throws IOException {
    log().append(entries(1, 1, 10));
    log().purgePrefix(LogId.of(1, 6));

    reopen();

    assertThat(log().purgedLogId()).isEqualTo(LogId.of(1, 6));
    assertThat(log().firstIndex()).isEqualTo(7);
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 7, 10));
  }

  /**
   * Many appends and purges of a long log lose no entry that was not purged, across segment
   * boundaries and reopens.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldPurgeAcrossSegmentsWithoutLosingEntries() throws IOException {
    long next = 1;
    for (int round = 0; round < 60; round++) {
      final List<Entry> batch = new ArrayList<>();
      for (int i = 0; i < 50; i++, next++) {
        batch.add(entry(1, next, 1000 + (int) (next % 3000)));
      }
      log().append(batch);
      if (round % 3 == 2) {
        log().purgePrefix(LogId.of(1, next - 70));
      }
      if (round % 20 == 19) {
        reopen();
      }
    }
    final long first = log().firstIndex();
    final List<Entry> all = readAll();
    assertThat(all).hasSize((int) (next - first));
    for (int i = 0; i < all.size(); i++) {
      assertThat(all.get(i)).isEqualTo(entry(1, first + i, 1000 + (int) ((first + i) % 3000)));
    }
  }

  // ------------------------------------------------------------------ durability across reopen

  /**
   * Everything synced is there after a close and a reopen, and appends continue after it.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepSyncedEntriesAcrossReopen() throws IOException {
    log().append(entries(1, 1, 50));
    log().sync();

    closeAndReopen();

    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 50));
    assertThat(readAll()).containsExactlyElementsOf(entries(1, 1, 50));
    log().append(entries(2, 51, 60));
    reopen();
    assertThat(readAll()).hasSize(60).last().isEqualTo(entry(2, 60));
  }

  /**
   * After a close without a sync the log holds everything synced and a prefix of what came after:
   * never a gap, never an entry that was not appended.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepSyncedEntriesAndAPrefixOfTheRestAfterUnsyncedClose() throws IOException {
    log().append(entries(1, 1, 20));
    log().sync();
    log().append(entries(1, 21, 40));

    closeAndReopen();

    final List<Entry> all = readAll();
    assertThat(all.size()).isBetween(20, 40);
    assertThat(all).containsExactlyElementsOf(entries(1, 1, all.size()));
  }

  /**
   * Opening a store that is open already fails with an {@link IOException}, and leaves the open
   * one working.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRefuseSecondOpenWhileOpen() throws IOException {
    log().append(entries(1, 1, 3));

    assertThatThrownBy(() -> open(dir).close()).isInstanceOf(IOException.class);
    log().append(entries(1, 4, 4));
    assertThat(log().lastLogId()).isEqualTo(LogId.of(1, 4));
  }

  // ------------------------------------------------------------------ vote and committed

  /**
   * A saved vote is read back; the same or a higher term may be saved, the committed flag too.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldSaveAndReadTheVote() throws IOException {
    storage.saveVote(new Vote(1, 2, false));
    assertThat(storage.readVote()).isEqualTo(new Vote(1, 2, false));

    storage.saveVote(new Vote(1, 2, true));
    assertThat(storage.readVote()).isEqualTo(new Vote(1, 2, true));

    storage.saveVote(new Vote(3, 0, false));
    assertThat(storage.readVote()).isEqualTo(new Vote(3, 0, false));
  }

  /**
   * A vote of a lower term is refused, naming the terms, and the saved vote stays.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRefuseAVoteOfALowerTerm() throws IOException {
    storage.saveVote(new Vote(5, 1, true));

    assertThatThrownBy(() -> storage.saveVote(new Vote(4, 2, false)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("term=4");
    assertThat(storage.readVote()).isEqualTo(new Vote(5, 1, true));
    reopen();
    assertThat(storage.readVote()).isEqualTo(new Vote(5, 1, true));
  }

  /**
   * The vote is durable when saveVote returns: it survives a close without a log sync.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepTheVoteAcrossReopen() throws IOException {
    storage.saveVote(new Vote(7, 3, false));

    closeAndReopen();

    assertThat(storage.readVote()).isEqualTo(new Vote(7, 3, false));
    storage.saveVote(new Vote(8, 1, true));
    closeAndReopen();
    assertThat(storage.readVote()).isEqualTo(new Vote(8, 1, true));
  }

  /**
   * The committed id is saved and read back, and after a synced reopen it is the last one saved.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldSaveTheCommittedIdWithinTheLog() throws IOException {
    log().append(entries(1, 1, 5));
    storage.saveCommitted(LogId.of(1, 3));
    assertThat(storage.readCommitted()).isEqualTo(LogId.of(1, 3));
    storage.saveCommitted(LogId.of(1, 5));

    reopen();

    final LogId committed = storage.readCommitted();
    assertThat(committed.index()).isLessThanOrEqualTo(log().lastLogId().index());
    assertThat(committed).isIn(LogId.ZERO, LogId.of(1, 3), LogId.of(1, 5));
  }

  /**
   * A committed id beyond the last log id is refused, naming both.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRefuseACommittedIdAheadOfTheLog() throws IOException {
    log().append(entries(1, 1, 2));

    assertThatThrownBy(() -> storage.saveCommitted(LogId.of(1, 3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("committed=1-3");
    assertThat(storage.readCommitted()).isEqualTo(LogId.ZERO);
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * A snapshot written in chunks reads back whole, with its meta.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldWriteASnapshotInChunksAndReadItBack() throws IOException {
    final byte[] data = bytes(100_000, 1);
    final SnapshotMeta meta = snapshotMeta(LogId.of(2, 10), "snap-1");

    writeSnapshot(meta, data, 7_000);

    final Optional<SnapshotReader> latest = storage.snapshots().openLatest();
    assertThat(latest).isPresent();
    try (SnapshotReader r = latest.get()) {
      assertThat(r.meta()).isEqualTo(meta);
      assertThat(r.size()).isEqualTo(data.length);
      assertThat(readFully(r)).isEqualTo(data);
    }
  }

  /**
   * A snapshot may be empty, and its meta may have no membership.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepAnEmptySnapshotWithoutMembership() throws IOException {
    final SnapshotMeta meta = new SnapshotMeta(LogId.of(1, 1), StoredMembership.EMPTY, "empty");

    writeSnapshot(meta, new byte[0], 10);
    reopen();

    try (SnapshotReader r = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(r.meta()).isEqualTo(meta);
      assertThat(r.size()).isZero();
      assertThat(r.read(0, ByteBuffer.allocate(4))).isEqualTo(-1);
    }
  }

  /**
   * A write consumes only the chunk's remaining bytes, and moves its position to its limit.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldConsumeOnlyTheRemainingBytesOfAChunk() throws IOException {
    final ByteBuffer chunk = ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6});
    chunk.position(2).limit(5);
    try (SnapshotWriter w = storage.snapshots().begin(snapshotMeta(LogId.of(1, 1), "s"))) {
      w.write(chunk);
      assertThat(chunk.hasRemaining()).isFalse();
      w.write(ByteBuffer.allocateDirect(2).put((byte) 9).put((byte) 8).flip());
      w.finish();
    }

    try (SnapshotReader r = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(readFully(r)).containsExactly(3, 4, 5, 9, 8);
    }
  }

  /**
   * A snapshot is not visible before finish, nor after it was abandoned by close.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldNotShowAnUnfinishedSnapshot() throws IOException {
    final SnapshotWriter w = storage.snapshots().begin(snapshotMeta(LogId.of(1, 5), "unfinished"));
    w.write(ByteBuffer.wrap(bytes(1000, 2)));

    assertThat(storage.snapshots().openLatest()).isEmpty();
    w.close();
    w.close();
    assertThat(storage.snapshots().openLatest()).isEmpty();
  }

  /**
   * Finishing a snapshot makes it the latest; the previous one is no longer returned.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldMakeTheFinishedSnapshotTheLatest() throws IOException {
    writeSnapshot(snapshotMeta(LogId.of(1, 5), "a"), bytes(500, 3), 100);
    writeSnapshot(snapshotMeta(LogId.of(2, 9), "b"), bytes(700, 4), 100);

    try (SnapshotReader r = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(r.meta().snapshotId()).isEqualTo("b");
      assertThat(readFully(r)).isEqualTo(bytes(700, 4));
    }
  }

  /**
   * A reader opened before a newer snapshot finished goes on reading the one it opened.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepAnOpenReaderWorkingWhenANewerSnapshotFinishes() throws IOException {
    writeSnapshot(snapshotMeta(LogId.of(1, 5), "old"), bytes(5000, 5), 1000);
    try (SnapshotReader old = storage.snapshots().openLatest().orElseThrow()) {
      writeSnapshot(snapshotMeta(LogId.of(1, 8), "new"), bytes(6000, 6), 1000);

      assertThat(old.meta().snapshotId()).isEqualTo("old");
      assertThat(readFully(old)).isEqualTo(bytes(5000, 5));
    }
  }

  /**
   * The latest finished snapshot survives a reopen; an unfinished one left behind does not
   * replace it.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldKeepTheLatestSnapshotAcrossReopenAndDropAnUnfinishedOne() throws IOException {
    final SnapshotMeta meta = snapshotMeta(LogId.of(3, 30), "kept");
    writeSnapshot(meta, bytes(3000, 7), 512);
    final SnapshotWriter unfinished = storage.snapshots().begin(snapshotMeta(LogId.of(3, 40), "lost"));
    unfinished.write(ByteBuffer.wrap(bytes(100, 8)));

    closeAndReopen();
    unfinished.close();

    try (SnapshotReader r = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(r.meta()).isEqualTo(meta);
      assertThat(readFully(r)).isEqualTo(bytes(3000, 7));
    }
  }

  /**
   * A writer refuses writes and a second finish after finish or close.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRefuseWritesAfterFinishOrClose() throws IOException {
    final SnapshotWriter finished = storage.snapshots().begin(snapshotMeta(LogId.of(1, 1), "f"));
    finished.write(ByteBuffer.wrap(new byte[] {1}));
    finished.finish();
    assertThat(finished.meta().snapshotId()).isEqualTo("f");
    assertThatThrownBy(() -> finished.write(ByteBuffer.wrap(new byte[] {2}))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(finished::finish).isInstanceOf(IllegalStateException.class);
    finished.close();

    final SnapshotWriter closed = storage.snapshots().begin(snapshotMeta(LogId.of(1, 2), "c"));
    closed.close();
    assertThatThrownBy(() -> closed.write(ByteBuffer.wrap(new byte[] {2}))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(closed::finish).isInstanceOf(IllegalStateException.class);

    try (SnapshotReader r = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(r.meta().snapshotId()).isEqualTo("f");
    }
  }

  /**
   * A reader reads from any position, returns -1 at the end, and refuses a negative position.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldReadASnapshotFromAnyPosition() throws IOException {
    writeSnapshot(snapshotMeta(LogId.of(1, 3), "p"), new byte[] {10, 11, 12, 13, 14}, 2);

    try (SnapshotReader r = storage.snapshots().openLatest().orElseThrow()) {
      final ByteBuffer buf = ByteBuffer.allocate(2);
      assertThat(r.read(3, buf)).isEqualTo(2);
      assertThat(buf.array()).containsExactly(13, 14);
      buf.clear();
      assertThat(r.read(4, buf)).isEqualTo(1);
      assertThat(buf.get(0)).isEqualTo((byte) 14);
      assertThat(r.read(5, ByteBuffer.allocate(1))).isEqualTo(-1);
      assertThatThrownBy(() -> r.read(-1, ByteBuffer.allocate(1))).isInstanceOf(IllegalArgumentException.class);
    }
  }

  // ------------------------------------------------------------------ concurrency

  /**
   * Reads from other threads, while one thread appends and syncs, always see a contiguous log of
   * intact entries that ends at or after the last id they saw before.
   *
   * @throws Exception on a storage error or a failed reader
   */
  @Test
  public void shouldServeConsistentReadsWhileAnotherThreadAppends() throws Exception {
    final int total = 20_000;
    final AtomicBoolean done = new AtomicBoolean();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final AtomicLong reads = new AtomicLong();
    final CountDownLatch readersDone = new CountDownLatch(2);
    final List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      final long seed = t;
      final Thread reader =
          new Thread(
              () -> {
                final SplittableRandom random = new SplittableRandom(seed);
                long seenLast = 0;
                try {
                  while (!done.get() || reads.get() < 10) {
                    final long last = log().lastLogId().index();
                    assertThat(last).isGreaterThanOrEqualTo(seenLast);
                    seenLast = last;
                    final long from = last == 0 ? 1 : 1 + random.nextLong(last);
                    final List<Entry> read = log().read(from, last + 1, 64 * 1024);
                    long expect = from;
                    for (final Entry e : read) {
                      assertThat(e.index()).isEqualTo(expect++);
                      assertThat(TckEntries.isIntact(e)).as("intact %s", e).isTrue();
                    }
                    assertThat(read.isEmpty()).isEqualTo(from > last);
                    reads.incrementAndGet();
                  }
                } catch (final Throwable e) {
                  failure.compareAndSet(null, e);
                } finally {
                  readersDone.countDown();
                }
              },
              "tck-reader-" + t);
      readers.add(reader);
      reader.start();
    }
    try {
      final SplittableRandom random = new SplittableRandom(99);
      long next = 1;
      while (next <= total && failure.get() == null) {
        final List<Entry> batch = new ArrayList<>();
        final int n = 1 + random.nextInt(64);
        for (int i = 0; i < n && next <= total; i++, next++) {
          batch.add(entry(1 + next / 5000, next, random.nextInt(600)));
        }
        log().append(batch);
        if (random.nextInt(8) == 0) {
          log().sync();
        }
      }
    } finally {
      done.set(true);
    }
    assertThat(readersDone.await(60, TimeUnit.SECONDS)).as("readers finished").isTrue();
    assertThat(failure.get()).as("reader failure").isNull();
    assertThat(log().lastLogId().index()).isEqualTo(total);
  }

  // ------------------------------------------------------------------ use after close

  /**
   * After close every log call throws {@link IllegalStateException}.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRefuseLogUseAfterClose() throws IOException {
    log().append(entries(1, 1, 1));
    final LogStore log = log();
    storage.close();

    assertThatThrownBy(log::lastLogId).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(log::purgedLogId).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.append(entries(1, 2, 2))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.read(1, 2, 1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(log::sync).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.truncateSuffix(1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.purgePrefix(LogId.of(1, 1))).isInstanceOf(IllegalStateException.class);
  }

  /**
   * After close every storage call throws {@link IllegalStateException}; close again does nothing.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldRefuseStorageUseAfterCloseButAllowCloseAgain() throws IOException {
    storage.close();

    assertThatThrownBy(storage::readVote).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.saveVote(new Vote(1, 1, false))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(storage::readCommitted).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.saveCommitted(LogId.ZERO)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.snapshots().openLatest()).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.snapshots().begin(snapshotMeta(LogId.of(1, 1), "x")))
        .isInstanceOf(IllegalStateException.class);
    storage.close();
  }

  /**
   * A store closed cleanly can be opened again, many times in a row.
   *
   * @throws IOException on a storage error
   */
  @Test
  public void shouldOpenAgainAfterEachClose() throws IOException {
    for (int i = 1; i <= 5; i++) {
      log().append(entries(1, i, i));
      reopen();
      assertThat(log().lastLogId()).isEqualTo(LogId.of(1, i));
    }
  }

  // ------------------------------------------------------------------ model check

  /**
   * Random appends, truncations, purges, syncs, reads and reopens agree with a simple model. On
   * failure the seed is in the test name; replay it by running that case.
   *
   * @param seed the generator's seed
   * @throws IOException on a storage error
   */
  @ParameterizedTest(name = "seed={0}")
  @ValueSource(longs = {1, 2, 3})
  public void shouldMatchAModelUnderRandomOperations(final long seed) throws IOException {
    final SplittableRandom random = new SplittableRandom(seed);
    final List<Entry> model = new ArrayList<>();
    LogId purged = LogId.ZERO;
    long term = 1;
    for (int step = 0; step < 400; step++) {
      final LogId last = model.isEmpty() ? purged : model.get(model.size() - 1).logId();
      final int op = random.nextInt(100);
      final String at = "seed=" + seed + " step=" + step;
      if (op < 55) {
        final List<Entry> batch = new ArrayList<>();
        final int n = 1 + random.nextInt(30);
        for (int i = 1; i <= n; i++) {
          final int size = random.nextInt(20) == 0 ? 40_000 : random.nextInt(2000);
          batch.add(entry(term, last.index() + i, size));
        }
        log().append(batch);
        model.addAll(batch);
      } else if (op < 65) {
        final long from = purged.index() + 1 + random.nextLong(last.index() - purged.index() + 2);
        log().truncateSuffix(from);
        while (!model.isEmpty() && model.get(model.size() - 1).index() >= from) {
          model.remove(model.size() - 1);
        }
        term++;
      } else if (op < 72) {
        final long upTo = purged.index() + random.nextLong(last.index() - purged.index() + 3);
        final LogId id = upTo <= last.index() && upTo > purged.index()
            ? model.get((int) (upTo - purged.index() - 1)).logId()
            : upTo <= purged.index() ? purged : LogId.of(term, upTo);
        log().purgePrefix(id);
        if (id.index() > purged.index()) {
          while (!model.isEmpty() && model.get(0).index() <= id.index()) {
            model.remove(0);
          }
          purged = id;
        }
      } else if (op < 80) {
        log().sync();
      } else if (op < 85) {
        reopen();
      } else {
        final long first = purged.index() + 1;
        final long from = first + random.nextLong(last.index() - first + 2);
        final long to = from + random.nextLong(last.index() + 2 - from);
        final long maxBytes = random.nextBoolean() ? Long.MAX_VALUE : random.nextInt(5000);
        final List<Entry> read = log().read(from, to, maxBytes);
        final List<Entry> expected = new ArrayList<>();
        long sum = 0;
        for (long i = from; i < to && (expected.isEmpty() || sum < maxBytes); i++) {
          final Entry e = model.get((int) (i - first));
          expected.add(e);
          sum += e.payload().length;
        }
        assertThat(read).as("%s read [%d, %d) maxBytes=%d", at, from, to, maxBytes).containsExactlyElementsOf(expected);
      }
      final LogId expectedLast = model.isEmpty() ? purged : model.get(model.size() - 1).logId();
      assertThat(log().lastLogId()).as("%s lastLogId", at).isEqualTo(expectedLast);
      assertThat(log().purgedLogId()).as("%s purgedLogId", at).isEqualTo(purged);
    }
    reopen();
    assertThat(readAll()).containsExactlyElementsOf(model);
  }
}
