package io.raftkit.storage.memory.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.storage.memory.MemoryStores;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs seeded random sequences of log operations and crashes against a plain model (a list copied
 * at every sync) and checks the store agrees after every step. A failure names its seed.
 */
class CrashModelTest {

  /** The obvious model: the log as a list, and a copy of it taken at every sync. */
  private static final class Model {
    List<Entry> log = new ArrayList<>();
    LogId purged = LogId.ZERO;
    List<Entry> syncedLog = new ArrayList<>();

    long lastIndex() {
      return log.isEmpty() ? purged.index() : log.get(log.size() - 1).index();
    }

    LogId lastLogId() {
      return log.isEmpty() ? purged : log.get(log.size() - 1).logId();
    }

    void purge(final LogId upTo) {
      log.removeIf(e -> e.index() <= upTo.index());
      syncedLog.removeIf(e -> e.index() <= upTo.index());
      purged = upTo;
    }
  }

  @AfterEach
  void forget() {
    MemoryStores.clear();
  }

  @ParameterizedTest(name = "seed={0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 42, 1234, 99991, 0xC0FFEE})
  void shouldMatchModelUnderRandomOperationsAndCrashes(final long seed) throws IOException {
    final SplittableRandom random = new SplittableRandom(seed);
    final String name = "model-" + seed;
    final Model model = new Model();
    RaftStorage storage = TestEntries.openNamed(name);
    long term = 1;
    for (int step = 0; step < 2_000; step++) {
      final int op = random.nextInt(100);
      final String desc;
      if (op < 45) {
        final int n = 1 + random.nextInt(5);
        if (random.nextInt(10) == 0) {
          term++;
        }
        final List<Entry> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          batch.add(TestEntries.entry(term, model.lastIndex() + 1 + i));
        }
        storage.log().append(batch);
        model.log.addAll(batch);
        desc = "append " + batch.get(0).logId() + ".." + batch.get(n - 1).logId();
      } else if (op < 60) {
        final long from = model.purged.index() + 1 + random.nextLong(model.lastIndex() - model.purged.index() + 2);
        storage.log().truncateSuffix(from);
        model.log.removeIf(e -> e.index() >= from);
        term++;
        desc = "truncate " + from;
      } else if (op < 80) {
        storage.log().sync();
        model.syncedLog = new ArrayList<>(model.log);
        desc = "sync";
      } else if (op < 88) {
        final LogId upTo;
        if (random.nextInt(5) == 0 || model.log.isEmpty()) {
          upTo = LogId.of(Math.max(term, model.lastLogId().term()), model.lastIndex() + 1 + random.nextInt(3));
        } else {
          upTo = model.log.get(random.nextInt(model.log.size())).logId();
        }
        storage.log().purgePrefix(upTo);
        model.purge(upTo);
        desc = "purge " + upTo;
      } else {
        MemoryStores.get(name).crash();
        storage = TestEntries.openNamed(name);
        model.log = new ArrayList<>(model.syncedLog);
        desc = "crash";
      }
      final String context = "seed=" + seed + " step=" + step + " op=" + desc;
      assertThat(storage.log().purgedLogId()).as(context).isEqualTo(model.purged);
      assertThat(storage.log().lastLogId()).as(context).isEqualTo(model.lastLogId());
      assertThat(storage.log().read(model.purged.index() + 1, model.lastIndex() + 1, Long.MAX_VALUE))
          .as(context)
          .containsExactlyElementsOf(model.log);
      final LogId syncedLast =
          model.syncedLog.isEmpty() ? model.purged : model.syncedLog.get(model.syncedLog.size() - 1).logId();
      assertThat(MemoryStores.get(name).syncedLastLogId()).as(context).isEqualTo(syncedLast);
    }
    storage.close();
  }
}
