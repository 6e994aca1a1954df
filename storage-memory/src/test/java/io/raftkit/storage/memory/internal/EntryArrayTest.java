package io.raftkit.storage.memory.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The chunked entry store, across chunk boundaries, against a plain model. */
class EntryArrayTest {

  private static Entry entry(final long index) {
    return Entry.normal(LogId.of(1, index), new byte[] {(byte) index});
  }

  @Test
  void shouldKeepEveryEntryAcrossChunksThroughTruncationsAndPurges() {
    final EntryArray a = new EntryArray();
    for (long i = 1; i <= 10_000; i++) {
      a.add(entry(i));
    }
    assertThat(a.lastIndex()).isEqualTo(10_000);
    assertThat(a.get(4096)).isEqualTo(entry(4096));
    assertThat(a.get(4097)).isEqualTo(entry(4097));

    a.truncateFrom(4000); // back into the first chunk
    assertThat(a.lastIndex()).isEqualTo(3999);
    assertThat(a.last()).isEqualTo(entry(3999));
    for (long i = 4000; i <= 9000; i++) {
      a.add(entry(i));
    }
    a.purgeTo(8200); // drops two whole chunks and part of the third
    assertThat(a.firstIndex()).isEqualTo(8201);
    for (long i = 8201; i <= 9000; i++) {
      assertThat(a.get(i)).isEqualTo(entry(i));
    }
    a.purgeTo(9500); // past the end: empty, next entry expected at 9501
    assertThat(a.isEmpty()).isTrue();
    assertThat(a.firstIndex()).isEqualTo(9501);
    a.add(entry(9501));
    assertThat(a.last()).isEqualTo(entry(9501));
  }

  @Test
  void shouldMatchAModelUnderRandomOperations() {
    final long seed = 7;
    final SplittableRandom random = new SplittableRandom(seed);
    final EntryArray a = new EntryArray();
    long first = 1;
    long last = 0;
    for (int step = 0; step < 20_000; step++) {
      final int op = random.nextInt(10);
      if (op < 7) {
        a.add(entry(++last));
      } else if (op < 9 && last >= first) {
        final long from = first + random.nextLong(last - first + 1);
        a.truncateFrom(from);
        last = from - 1;
      } else if (last >= first) {
        final long upTo = first - 1 + random.nextLong(last - first + 2);
        a.purgeTo(upTo);
        first = upTo + 1;
      }
      assertThat(a.firstIndex()).as("seed=%d step=%d", seed, step).isEqualTo(first);
      assertThat(a.lastIndex()).as("seed=%d step=%d", seed, step).isEqualTo(last);
      if (last >= first) {
        final long probe = first + random.nextLong(last - first + 1);
        assertThat(a.get(probe)).as("seed=%d step=%d", seed, step).isEqualTo(entry(probe));
      }
    }
  }
}
