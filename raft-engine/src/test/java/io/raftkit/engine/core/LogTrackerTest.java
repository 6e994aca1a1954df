package io.raftkit.engine.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import org.junit.jupiter.api.Test;

class LogTrackerTest {

  /** Appends terms[i] at index i + 1 with size 10 * (i + 1). */
  private static LogTracker tracker(final long... terms) {
    final LogTracker log = new LogTracker();
    for (int i = 0; i < terms.length; i++) {
      log.append(terms[i], 10 * (i + 1));
    }
    return log;
  }

  @Test
  void shouldStartEmptyAtZero() {
    final LogTracker log = new LogTracker();
    assertThat(log.lastIndex()).isZero();
    assertThat(log.lastLogId()).isEqualTo(LogId.ZERO);
    assertThat(log.purgedLogId()).isEqualTo(LogId.ZERO);
    assertThat(log.termAt(0)).isZero();
    assertThat(log.termAt(1)).isEqualTo(-1);
  }

  @Test
  void shouldTrackTermsAndSizesOfAppendedEntries() {
    final LogTracker log = tracker(1, 1, 2, 2, 2, 5);

    assertThat(log.lastLogId()).isEqualTo(LogId.of(5, 6));
    assertThat(log.termAt(1)).isEqualTo(1);
    assertThat(log.termAt(2)).isEqualTo(1);
    assertThat(log.termAt(3)).isEqualTo(2);
    assertThat(log.termAt(5)).isEqualTo(2);
    assertThat(log.termAt(6)).isEqualTo(5);
    assertThat(log.termAt(7)).isEqualTo(-1);
    assertThat(log.logIdAt(4)).isEqualTo(LogId.of(2, 4));
    assertThat(log.sizeAt(1)).isEqualTo(10);
    assertThat(log.sizeAt(6)).isEqualTo(60);
  }

  @Test
  void shouldFindFirstIndexOfTheTermHoldingAnIndex() {
    final LogTracker log = tracker(1, 1, 2, 2, 2, 5);

    assertThat(log.firstIndexOfTermAt(2)).isEqualTo(1);
    assertThat(log.firstIndexOfTermAt(3)).isEqualTo(3);
    assertThat(log.firstIndexOfTermAt(5)).isEqualTo(3);
    assertThat(log.firstIndexOfTermAt(6)).isEqualTo(6);
  }

  @Test
  void shouldRejectAnEntryWithALowerTermThanTheLast() {
    final LogTracker log = tracker(1, 3);
    assertThatThrownBy(() -> log.append(2, 0)).isInstanceOf(IllegalStateException.class);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(3, 2));
  }

  @Test
  void shouldTruncateFromAnIndexAndAppendAgain() {
    final LogTracker log = tracker(1, 1, 2, 2, 3);

    log.truncateFrom(4);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(2, 3));
    assertThat(log.termAt(4)).isEqualTo(-1);
    assertThat(log.firstIndexOfTermAt(3)).isEqualTo(3);

    log.append(4, 7);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(4, 4));
    assertThat(log.termAt(3)).isEqualTo(2);
    assertThat(log.sizeAt(4)).isEqualTo(7);
    assertThat(log.firstIndexOfTermAt(4)).isEqualTo(4);

    // Truncating a whole run removes it.
    log.truncateFrom(3);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 2));
    log.append(1, 1);
    assertThat(log.firstIndexOfTermAt(3)).isEqualTo(1);
  }

  @Test
  void shouldIgnoreTruncationBeyondTheLastIndex() {
    final LogTracker log = tracker(1, 1);
    log.truncateFrom(3);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1, 2));
  }

  @Test
  void shouldRefuseToTruncateAtOrBelowThePurgedIndex() {
    final LogTracker log = tracker(1, 1, 2);
    log.purgeUpTo(LogId.of(1, 2));
    assertThatThrownBy(() -> log.truncateFrom(2)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void shouldPurgeAPrefixAndKeepTheRest() {
    final LogTracker log = tracker(1, 1, 2, 2, 3);

    log.purgeUpTo(LogId.of(2, 3));

    assertThat(log.purgedLogId()).isEqualTo(LogId.of(2, 3));
    assertThat(log.lastLogId()).isEqualTo(LogId.of(3, 5));
    assertThat(log.termAt(3)).isEqualTo(2);
    assertThat(log.termAt(2)).isEqualTo(-1);
    assertThat(log.termAt(4)).isEqualTo(2);
    assertThat(log.termAt(5)).isEqualTo(3);
    assertThat(log.firstIndexOfTermAt(4)).isEqualTo(4);
    assertThat(log.sizeAt(4)).isEqualTo(40);
    assertThat(log.sizeAt(5)).isEqualTo(50);
  }

  @Test
  void shouldPurgeEverythingAndContinueAfterThePurgedId() {
    final LogTracker log = tracker(1, 1, 2);

    log.purgeUpTo(LogId.of(7, 10));

    assertThat(log.lastLogId()).isEqualTo(LogId.of(7, 10));
    assertThat(log.termAt(10)).isEqualTo(7);
    log.append(7, 3);
    assertThat(log.lastLogId()).isEqualTo(LogId.of(7, 11));
    assertThat(log.sizeAt(11)).isEqualTo(3);
    assertThat(log.firstIndexOfTermAt(11)).isEqualTo(11);
  }

  @Test
  void shouldIgnoreAPurgeAtOrBelowThePurgedId() {
    final LogTracker log = tracker(1, 1, 2);
    log.purgeUpTo(LogId.of(1, 2));
    log.purgeUpTo(LogId.of(1, 1));
    assertThat(log.purgedLogId()).isEqualTo(LogId.of(1, 2));
    assertThat(log.sizeAt(3)).isEqualTo(30);
  }

  @Test
  void shouldGrowPastTheInitialCapacityAndKeepSizesWhilePurging() {
    final LogTracker log = new LogTracker();
    final int n = 5000;
    for (int i = 1; i <= n; i++) {
      // A new term every 7 entries grows the run arrays too.
      log.append(1 + i / 7, i % 1000);
    }
    assertThat(log.lastLogId()).isEqualTo(LogId.of(1 + n / 7, n));
    for (int i = 1; i <= n; i++) {
      assertThat(log.sizeAt(i)).as("size at %d", i).isEqualTo(i % 1000);
      assertThat(log.termAt(i)).as("term at %d", i).isEqualTo(1 + i / 7);
    }

    // Purge and append in turns, which compacts the sizes buffer instead of growing it.
    long last = n;
    for (int round = 0; round < 10; round++) {
      final long upTo = last - 100;
      log.purgeUpTo(log.logIdAt(upTo));
      for (int k = 0; k < 900; k++) {
        last++;
        log.append(log.lastLogId().term(), (int) (last % 1000));
      }
      for (long i = upTo + 1; i <= last; i++) {
        assertThat(log.sizeAt(i)).as("size at %d after round %d", i, round).isEqualTo((int) (i % 1000));
      }
      assertThat(log.termAt(upTo)).isEqualTo(log.purgedLogId().term());
    }
    assertThat(log.lastIndex()).isEqualTo(last);
  }

  @Test
  void shouldKeepSizesAcrossChunkBoundariesThroughTruncationAndPurge() {
    final LogTracker t = new LogTracker();
    for (int i = 1; i <= 10_000; i++) {
      t.append(1 + i / 5_000, i % 977);
    }
    assertThat(t.sizeAt(4096)).isEqualTo(4096 % 977);
    assertThat(t.sizeAt(4097)).isEqualTo(4097 % 977);
    t.truncateFrom(4_000);
    for (int i = 4_000; i <= 9_000; i++) {
      t.append(1, i % 131);
    }
    t.purgeUpTo(LogId.of(1, 8_200));
    for (long i = 8_201; i <= 9_000; i++) {
      assertThat(t.sizeAt(i)).as("size at %d", i).isEqualTo((int) (i % 131));
    }
    assertThat(t.lastLogId()).isEqualTo(LogId.of(1, 9_000));
  }
}
