package io.raftkit.storage.memory.internal;

import static io.raftkit.storage.memory.internal.TestEntries.entries;
import static io.raftkit.storage.memory.internal.TestEntries.entry;
import static io.raftkit.storage.memory.internal.TestEntries.sized;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.RaftStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MemoryLogStoreTest {

  private RaftStorage storage;
  private LogStore log;

  @BeforeEach
  void open() throws IOException {
    storage = TestEntries.openFresh();
    log = storage.log();
  }

  @AfterEach
  void close() throws IOException {
    storage.close();
  }

  @Test
  void shouldStartEmptyAtZero() throws IOException {
    assertThat(log.lastLogId()).isEqualTo(LogId.ZERO);
    assertThat(log.purgedLogId()).isEqualTo(LogId.ZERO);
    assertThat(log.firstIndex()).isEqualTo(1);
    assertThat(log.read(1, 1, Long.MAX_VALUE)).isEmpty();
  }

  @Test
  void shouldAppendAndReadHalfOpenRange() throws IOException {
    log.append(entries(1, 1, 5));
    log.append(entries(2, 6, 8));

    assertThat(log.lastLogId()).isEqualTo(LogId.of(2, 8));
    assertThat(log.read(2, 5, Long.MAX_VALUE)).containsExactly(entry(1, 2), entry(1, 3), entry(1, 4));
    assertThat(log.read(1, 9, Long.MAX_VALUE)).hasSize(8).last().isEqualTo(entry(2, 8));
    assertThat(log.read(9, 9, Long.MAX_VALUE)).isEmpty();
  }

  @Test
  void shouldTreatEmptyAppendAsNoOp() throws IOException {
    log.append(entries(1, 1, 2));
    log.append(List.of());
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 2));
  }

  @Test
  void shouldRejectGapNamingIndexesAndAppendNothing() throws IOException {
    log.append(entries(1, 1, 3));

    assertThatThrownBy(() -> log.append(entries(1, 5, 6)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index=5")
        .hasMessageContaining("gap")
        .hasMessageContaining("expected index=4");
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldRejectOverlapAndAppendNothing() throws IOException {
    log.append(entries(1, 1, 3));

    assertThatThrownBy(() -> log.append(entries(2, 3, 4)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("overlap")
        .hasMessageContaining("index=3");
    assertThat(log.read(1, 4, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 3));
  }

  @Test
  void shouldRejectNonConsecutiveBatchWithoutAppendingItsPrefix() throws IOException {
    final List<Entry> batch = new ArrayList<>(entries(1, 1, 3));
    batch.add(entry(1, 5));

    assertThatThrownBy(() -> log.append(batch))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index=5");
    assertThat(log.lastLogId()).isEqualTo(LogId.ZERO);
  }

  @Test
  void shouldRejectTermGoingDown() throws IOException {
    log.append(entries(3, 1, 2));

    assertThatThrownBy(() -> log.append(List.of(entry(2, 3))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("term=2")
        .hasMessageContaining("previous term=3");
    assertThat(log.lastLogId()).isEqualTo(LogId.of(3, 2));
  }

  @Test
  void shouldStopReadAfterEntryReachingMaxBytes() throws IOException {
    log.append(List.of(sized(1, 1, 10), sized(1, 2, 10), sized(1, 3, 10), sized(1, 4, 10)));

    assertThat(log.read(1, 5, 20)).extracting(Entry::index).containsExactly(1L, 2L);
    assertThat(log.read(1, 5, 21)).extracting(Entry::index).containsExactly(1L, 2L, 3L);
    assertThat(log.read(1, 5, 15)).extracting(Entry::index).containsExactly(1L, 2L);
  }

  @Test
  void shouldReturnOneEntryEvenIfItExceedsMaxBytes() throws IOException {
    log.append(List.of(sized(1, 1, 100), sized(1, 2, 1)));

    assertThat(log.read(1, 3, 10)).extracting(Entry::index).containsExactly(1L);
    assertThat(log.read(1, 3, 0)).extracting(Entry::index).containsExactly(1L);
  }

  @Test
  void shouldNotStopOnEmptyPayloadsWhenMaxBytesPositive() throws IOException {
    log.append(List.of(Entry.blank(LogId.of(1, 1)), Entry.blank(LogId.of(1, 2)), sized(1, 3, 5)));

    assertThat(log.read(1, 4, 1)).extracting(Entry::index).containsExactly(1L, 2L, 3L);
  }

  @Test
  void shouldRejectReadOutsideLog() throws IOException {
    log.append(entries(1, 1, 5));
    log.purgePrefix(LogId.of(1, 2));

    assertThatThrownBy(() -> log.read(2, 4, Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fromIndex=2")
        .hasMessageContaining("firstIndex=3");
    assertThatThrownBy(() -> log.read(3, 7, Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("toIndex=7")
        .hasMessageContaining("lastIndex+1=6");
    assertThatThrownBy(() -> log.read(5, 4, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
    assertThat(log.read(3, 6, Long.MAX_VALUE)).extracting(Entry::index).containsExactly(3L, 4L, 5L);
  }

  @Test
  void shouldTruncateSuffixAndAppendNewTerm() throws IOException {
    log.append(entries(1, 1, 5));

    log.truncateSuffix(3);

    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 2));
    log.append(entries(2, 3, 4));
    assertThat(log.read(1, 5, Long.MAX_VALUE)).containsExactly(entry(1, 1), entry(1, 2), entry(2, 3), entry(2, 4));
  }

  @Test
  void shouldIgnoreTruncationPastEnd() throws IOException {
    log.append(entries(1, 1, 3));

    log.truncateSuffix(10);

    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldRejectTruncationInPurgedPrefix() throws IOException {
    log.append(entries(1, 1, 5));
    log.purgePrefix(LogId.of(1, 3));

    assertThatThrownBy(() -> log.truncateSuffix(3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fromIndex=3")
        .hasMessageContaining("purgedLogId=1-3");
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 5));
  }

  @Test
  void shouldFallBackToPurgedIdWhenTruncatedToEmpty() throws IOException {
    log.append(entries(1, 1, 5));
    log.purgePrefix(LogId.of(1, 2));

    log.truncateSuffix(3);

    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 2));
    log.append(entries(2, 3, 3));
    assertThat(log.lastLogId()).isEqualTo(LogId.of(2, 3));
  }

  @Test
  void shouldPurgePrefix() throws IOException {
    log.append(entries(1, 1, 10));

    log.purgePrefix(LogId.of(1, 4));

    assertThat(log.purgedLogId()).isEqualTo(LogId.of(1, 4));
    assertThat(log.firstIndex()).isEqualTo(5);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 10));
    assertThat(log.read(5, 11, Long.MAX_VALUE)).extracting(Entry::index).containsExactly(5L, 6L, 7L, 8L, 9L, 10L);
  }

  @Test
  void shouldEmptyLogWhenPurgingPastLastEntry() throws IOException {
    log.append(entries(1, 1, 3));

    log.purgePrefix(LogId.of(4, 20));

    assertThat(log.purgedLogId()).isEqualTo(LogId.of(4, 20));
    assertThat(log.lastLogId()).isEqualTo(LogId.of(4, 20));
    assertThat(log.firstIndex()).isEqualTo(21);
    assertThat(log.read(21, 21, Long.MAX_VALUE)).isEmpty();
    log.append(entries(4, 21, 22));
    assertThat(log.lastLogId()).isEqualTo(LogId.of(4, 22));
  }

  @Test
  void shouldRejectPurgeBelowPurgedAndTreatSameAsNoOp() throws IOException {
    log.append(entries(1, 1, 5));
    log.purgePrefix(LogId.of(1, 3));

    assertThatThrownBy(() -> log.purgePrefix(LogId.of(1, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("upTo=1-2")
        .hasMessageContaining("purgedLogId=1-3");
    log.purgePrefix(LogId.of(1, 3));
    assertThat(log.purgedLogId()).isEqualTo(LogId.of(1, 3));
    assertThat(log.firstIndex()).isEqualTo(4);
  }

  @Test
  void shouldHandleManyAppendsAndPurgesWithoutLosingEntries() throws IOException {
    long next = 1;
    for (int round = 0; round < 200; round++) {
      final List<Entry> batch = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        batch.add(entry(1, next++));
      }
      log.append(batch);
      if (round % 3 == 2) {
        log.purgePrefix(LogId.of(1, next - 20));
      }
    }
    final long first = log.firstIndex();
    final List<Entry> all = log.read(first, next, Long.MAX_VALUE);
    assertThat(all).hasSize((int) (next - first));
    for (int i = 0; i < all.size(); i++) {
      assertThat(all.get(i)).isEqualTo(entry(1, first + i));
    }
  }

  @Test
  void shouldReturnListTheCallerMayKeep() throws IOException {
    log.append(entries(1, 1, 3));
    final List<Entry> read = log.read(1, 4, Long.MAX_VALUE);

    log.truncateSuffix(1);
    read.clear();

    assertThat(log.lastLogId()).isEqualTo(LogId.ZERO);
  }

  @Test
  void shouldThrowClosedAfterClose() throws IOException {
    log.append(entries(1, 1, 1));
    storage.close();

    assertThatThrownBy(log::lastLogId).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> log.append(entries(1, 2, 2))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.read(1, 2, 1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(log::sync).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.truncateSuffix(1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> log.purgePrefix(LogId.of(1, 1))).isInstanceOf(IllegalStateException.class);
  }
}
