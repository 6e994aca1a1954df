package io.raftkit.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.LogStore;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MemoryStoresTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  private ExecutorService writer;

  @BeforeEach
  void startWriter() {
    writer = Executors.newSingleThreadExecutor();
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    writer.shutdownNow();
    assertThat(writer.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    MemoryStores.clear();
  }

  private static RaftStorage open(final String name) throws IOException {
    return Providers.storage("memory")
        .open(new StorageContext(7, "test", null, Map.of(MemoryStores.NAME_OPTION, name)));
  }

  private static List<Entry> entries(final long term, final long from, final long to) {
    final List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(Entry.normal(LogId.of(term, i), ("t" + term + "i" + i).getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  @Test
  void shouldCreateStoreOnFirstOpenAndListIt() throws IOException {
    try (RaftStorage storage = open("n1")) {
      assertThat(MemoryStores.names()).contains("n1");
      assertThat(MemoryStores.get("n1").name()).isEqualTo("n1");
      assertThat(MemoryStores.get("n1").isOpen()).isTrue();
      assertThat(storage.log().lastLogId()).isEqualTo(LogId.ZERO);
    }
    assertThat(MemoryStores.get("n1").isOpen()).isFalse();
  }

  @Test
  void shouldSayItsWritesNeverBlockUnlessOpenedAsBlocking() throws IOException {
    try (RaftStorage storage = open("inline")) {
      assertThat(storage.neverBlocks()).isTrue();
    }
    try (RaftStorage storage = Providers.storage("memory").open(new StorageContext(7, "test", null,
        Map.of(MemoryStores.NAME_OPTION, "inline", MemoryStores.BLOCKING_OPTION, "true")))) {
      assertThat(storage.neverBlocks()).isFalse();
    }
    // (That the runtime then writes on its engine thread or its log writer: LogWriteThreadTest.)
  }

  @Test
  void shouldRefuseABlockingOptionThatIsNotABoolean() {
    assertThatThrownBy(() -> Providers.storage("memory").open(new StorageContext(7, "test", null,
        Map.of(MemoryStores.NAME_OPTION, "bad", MemoryStores.BLOCKING_OPTION, "yes"))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("memory.blocking=yes must be true or false");
    assertThat(MemoryStores.find("bad")).as("nothing opened").isEmpty();
  }

  @Test
  void shouldRecordTheThreadOfTheLastAppend() throws Exception {
    try (RaftStorage storage = open("threads")) {
      assertThat(MemoryStores.get("threads").lastAppendThread()).isNull();
      writer.submit(() -> {
        storage.log().append(entries(1, 1, 2));
        return null;
      }).get(10, TimeUnit.SECONDS);
      final String writerName = writer.submit(() -> Thread.currentThread().getName()).get(10, TimeUnit.SECONDS);
      assertThat(MemoryStores.get("threads").lastAppendThread()).isEqualTo(writerName);
    }
  }

  @Test
  void shouldFailGetOfUnknownNameListingKnownNames() throws IOException {
    MemoryStores.getOrCreate("known");

    assertThatThrownBy(() -> MemoryStores.get("unknown"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name=unknown")
        .hasMessageContaining("known");
    assertThat(MemoryStores.find("unknown")).isEmpty();
  }

  @Test
  void shouldForgetStoreOnDropAndClear() throws IOException {
    try (RaftStorage storage = open("gone")) {
      storage.log().append(entries(1, 1, 2));
    }

    assertThat(MemoryStores.drop("gone")).isTrue();
    assertThat(MemoryStores.drop("gone")).isFalse();
    try (RaftStorage storage = open("gone")) {
      assertThat(storage.log().lastLogId()).isEqualTo(LogId.ZERO);
    }
    MemoryStores.clear();
    assertThat(MemoryStores.names()).isEmpty();
  }

  @Test
  void shouldLoseUnsyncedAppendsOnCrash() throws IOException {
    final MemoryStore store;
    try (RaftStorage storage = open("crash1")) {
      storage.log().append(entries(1, 1, 3));
      storage.log().sync();
      storage.log().append(entries(1, 4, 6));
      store = MemoryStores.get("crash1");
      assertThat(store.lastLogId()).isEqualTo(LogId.of(1, 6));
      assertThat(store.syncedLastLogId()).isEqualTo(LogId.of(1, 3));

      store.crash();

      assertThatThrownBy(() -> storage.log().lastLogId()).isInstanceOf(IllegalStateException.class);
    }
    assertThat(store.lastLogId()).isEqualTo(LogId.of(1, 3));
    try (RaftStorage reopened = open("crash1")) {
      assertThat(reopened.log().lastLogId()).isEqualTo(LogId.of(1, 3));
      assertThat(reopened.log().read(1, 4, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 3));
    }
  }

  @Test
  void shouldRestoreSyncedEntriesTruncatedAfterLastSync() throws IOException {
    try (RaftStorage storage = open("crash2")) {
      final LogStore log = storage.log();
      log.append(entries(1, 1, 6));
      log.sync();
      log.truncateSuffix(4);
      log.append(entries(2, 4, 8));
      log.truncateSuffix(6);
      log.truncateSuffix(2);
      log.append(entries(3, 2, 3));

      MemoryStores.get("crash2").crash();
    }
    try (RaftStorage reopened = open("crash2")) {
      assertThat(reopened.log().read(1, 7, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 6));
    }
  }

  @Test
  void shouldKeepTruncationOnceSynced() throws IOException {
    try (RaftStorage storage = open("crash3")) {
      final LogStore log = storage.log();
      log.append(entries(1, 1, 6));
      log.sync();
      log.truncateSuffix(4);
      log.append(entries(2, 4, 4));
      log.sync();
      log.append(entries(2, 5, 9));

      MemoryStores.get("crash3").crash();
    }
    try (RaftStorage reopened = open("crash3")) {
      final List<Entry> expected = new ArrayList<>(entries(1, 1, 3));
      expected.addAll(entries(2, 4, 4));
      assertThat(reopened.log().read(1, 5, Long.MAX_VALUE)).containsExactlyElementsOf(expected);
      assertThat(reopened.log().lastLogId()).isEqualTo(LogId.of(2, 4));
    }
  }

  @Test
  void shouldKeepPurgeAcrossCrash() throws IOException {
    try (RaftStorage storage = open("crash4")) {
      final LogStore log = storage.log();
      log.append(entries(1, 1, 10));
      log.sync();
      log.purgePrefix(LogId.of(1, 4));
      log.append(entries(1, 11, 12));

      MemoryStores.get("crash4").crash();
    }
    try (RaftStorage reopened = open("crash4")) {
      assertThat(reopened.log().purgedLogId()).isEqualTo(LogId.of(1, 4));
      assertThat(reopened.log().lastLogId()).isEqualTo(LogId.of(1, 10));
      assertThat(reopened.log().read(5, 11, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 5, 10));
    }
  }

  @Test
  void shouldLeaveEmptyLogAtPurgedIdWhenPurgeWentPastSyncedEnd() throws IOException {
    try (RaftStorage storage = open("crash5")) {
      final LogStore log = storage.log();
      log.append(entries(1, 1, 3));
      log.sync();
      log.purgePrefix(LogId.of(2, 20));
      log.append(entries(2, 21, 22));
      assertThat(MemoryStores.get("crash5").syncedLastLogId()).isEqualTo(LogId.of(2, 20));

      MemoryStores.get("crash5").crash();
    }
    try (RaftStorage reopened = open("crash5")) {
      assertThat(reopened.log().lastLogId()).isEqualTo(LogId.of(2, 20));
      assertThat(reopened.log().firstIndex()).isEqualTo(21);
    }
  }

  @Test
  void shouldKeepVoteAndSyncedCommittedAcrossCrash() throws IOException {
    try (RaftStorage storage = open("crash6")) {
      storage.log().append(entries(1, 1, 4));
      storage.saveCommitted(LogId.of(1, 2));
      storage.log().sync();
      storage.saveCommitted(LogId.of(1, 4));
      storage.saveVote(new Vote(3, 2, false));

      MemoryStores.get("crash6").crash();
    }
    try (RaftStorage reopened = open("crash6")) {
      assertThat(reopened.readVote()).isEqualTo(new Vote(3, 2, false));
      assertThat(reopened.readCommitted()).isEqualTo(LogId.of(1, 2));
    }
  }

  @Test
  void shouldKeepEverythingOnCleanClose() throws IOException {
    try (RaftStorage storage = open("clean")) {
      storage.log().append(entries(1, 1, 4));
    }
    try (RaftStorage reopened = open("clean")) {
      assertThat(reopened.log().lastLogId()).isEqualTo(LogId.of(1, 4));
    }
  }

  @Test
  void shouldCountSyncs() throws IOException {
    try (RaftStorage storage = open("count")) {
      storage.log().sync();
      storage.log().append(entries(1, 1, 1));
      storage.log().sync();
    }
    try (RaftStorage storage = open("count")) {
      storage.log().sync();
    }
    assertThat(MemoryStores.get("count").syncCount()).isEqualTo(3);
  }

  @Test
  void shouldBlockSyncWhileHeldAndLetItFinishOnRelease() throws Exception {
    final MemoryStore store = MemoryStores.getOrCreate("held");
    store.holdSyncs();
    try (RaftStorage storage = open("held")) {
      storage.log().append(entries(1, 1, 2));
      final CompletableFuture<Void> sync = CompletableFuture.runAsync(() -> syncUnchecked(storage.log()), writer);

      assertThat(store.awaitBlockedSync(WAIT)).isTrue();
      assertThat(store.blockedSyncs()).isEqualTo(1);
      assertThat(sync).isNotDone();
      assertThat(store.syncedLastLogId()).isEqualTo(LogId.ZERO);
      // Reads go on while a sync is blocked.
      assertThat(storage.log().read(1, 3, Long.MAX_VALUE)).hasSize(2);

      store.releaseSyncs();
      sync.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(store.syncedLastLogId()).isEqualTo(LogId.of(1, 2));
      assertThat(store.syncCount()).isEqualTo(1);
      assertThat(store.blockedSyncs()).isZero();
    }
  }

  @Test
  void shouldFailBlockedSyncOnCrash() throws Exception {
    final MemoryStore store = MemoryStores.getOrCreate("held-crash");
    store.holdSyncs();
    final RaftStorage storage = open("held-crash");
    storage.log().append(entries(1, 1, 2));
    final CompletableFuture<Void> sync = CompletableFuture.runAsync(() -> syncUnchecked(storage.log()), writer);
    assertThat(store.awaitBlockedSync(WAIT)).isTrue();

    store.crash();

    assertThatThrownBy(() -> sync.get(WAIT.toSeconds(), TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasRootCauseInstanceOf(IllegalStateException.class)
        .hasStackTraceContaining("closed");
    assertThat(store.lastLogId()).isEqualTo(LogId.ZERO);
    assertThat(store.syncCount()).isZero();
    storage.close();
  }

  @Test
  void shouldReportNoBlockedSyncWhenNotHeld() throws Exception {
    final MemoryStore store = MemoryStores.getOrCreate("not-held");
    try (RaftStorage storage = open("not-held")) {
      storage.log().sync();
    }
    assertThat(store.awaitBlockedSync(Duration.ofMillis(1))).isFalse();
    assertThat(store.syncCount()).isEqualTo(1);
  }

  private static void syncUnchecked(final LogStore log) {
    try {
      log.sync();
    } catch (final IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
