package io.raftkit.storage.memory.internal;

import static io.raftkit.storage.memory.internal.TestEntries.entries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import io.raftkit.api.Vote;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.api.spi.StorageProvider;
import io.raftkit.storage.memory.MemoryStores;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MemoryRaftStorageTest {

  @AfterEach
  void forgetStores() {
    MemoryStores.clear();
  }

  @Test
  void shouldBeFoundByNameThroughServiceLoader() {
    final StorageProvider provider = Providers.storage("memory");

    assertThat(provider.name()).isEqualTo("memory");
    assertThat(provider.apiVersion()).isEqualTo(Providers.API_VERSION);
    assertThat(Providers.storageNames()).contains("memory");
  }

  @Test
  void shouldStartWithNoVoteAndNothingCommitted() throws IOException {
    try (RaftStorage storage = TestEntries.openFresh()) {
      assertThat(storage.readVote()).isEqualTo(Vote.NONE);
      assertThat(storage.readCommitted()).isEqualTo(LogId.ZERO);
      assertThat(storage.snapshots().openLatest()).isEmpty();
    }
  }

  @Test
  void shouldSaveVoteAndAllowSameOrHigherTerm() throws IOException {
    try (RaftStorage storage = TestEntries.openFresh()) {
      storage.saveVote(new Vote(2, 0, false));
      storage.saveVote(new Vote(2, 3, false));
      storage.saveVote(new Vote(2, 3, true));
      assertThat(storage.readVote()).isEqualTo(new Vote(2, 3, true));

      storage.saveVote(new Vote(5, 1, false));
      assertThat(storage.readVote()).isEqualTo(new Vote(5, 1, false));
    }
  }

  @Test
  void shouldRefuseVoteOfLowerTermAndKeepSavedOne() throws IOException {
    try (RaftStorage storage = TestEntries.openFresh()) {
      storage.saveVote(new Vote(4, 2, false));

      assertThatThrownBy(() -> storage.saveVote(new Vote(3, 1, false)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("term=3")
          .hasMessageContaining("T4:2");
      assertThat(storage.readVote()).isEqualTo(new Vote(4, 2, false));
    }
  }

  @Test
  void shouldSaveCommittedWithinLog() throws IOException {
    try (RaftStorage storage = TestEntries.openFresh()) {
      storage.log().append(entries(1, 1, 5));

      storage.saveCommitted(LogId.of(1, 3));

      assertThat(storage.readCommitted()).isEqualTo(LogId.of(1, 3));
    }
  }

  @Test
  void shouldRefuseCommittedAheadOfLog() throws IOException {
    try (RaftStorage storage = TestEntries.openFresh()) {
      storage.log().append(entries(1, 1, 2));

      assertThatThrownBy(() -> storage.saveCommitted(LogId.of(1, 3)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("committed=1-3")
          .hasMessageContaining("lastLogId=1-2");
      assertThat(storage.readCommitted()).isEqualTo(LogId.ZERO);
    }
  }

  @Test
  void shouldThrowClosedOnEveryCallAfterCloseButAllowCloseAgain() throws IOException {
    final RaftStorage storage = TestEntries.openFresh();
    storage.close();

    assertThatThrownBy(storage::readVote).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> storage.saveVote(new Vote(1, 1, false))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(storage::readCommitted).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.saveCommitted(LogId.ZERO)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.snapshots().openLatest()).isInstanceOf(IllegalStateException.class);
    storage.close();
  }

  @Test
  void shouldGiveFreshStoreOnEveryOpenWithoutName() throws IOException {
    try (RaftStorage first = TestEntries.openFresh()) {
      first.log().append(entries(1, 1, 3));
      first.saveVote(new Vote(1, 1, false));
    }
    try (RaftStorage second = TestEntries.openFresh()) {
      assertThat(second.log().lastLogId()).isEqualTo(LogId.ZERO);
      assertThat(second.readVote()).isEqualTo(Vote.NONE);
    }
  }

  @Test
  void shouldKeepNamedStoreAcrossCloseAndOpen() throws IOException {
    try (RaftStorage first = TestEntries.openNamed("restart")) {
      first.log().append(entries(1, 1, 3));
      first.saveVote(new Vote(1, 1, true));
      first.saveCommitted(LogId.of(1, 2));
    }
    try (RaftStorage second = TestEntries.openNamed("restart")) {
      assertThat(second.log().lastLogId()).isEqualTo(LogId.of(1, 3));
      assertThat(second.readVote()).isEqualTo(new Vote(1, 1, true));
      assertThat(second.readCommitted()).isEqualTo(LogId.of(1, 2));
    }
  }

  @Test
  void shouldRefuseSecondOpenOfNamedStore() throws IOException {
    try (RaftStorage first = TestEntries.openNamed("twice")) {
      assertThatThrownBy(() -> TestEntries.openNamed("twice"))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("name=twice")
          .hasMessageContaining("already open");
      assertThat(first.log().lastLogId()).isEqualTo(LogId.ZERO);
    }
  }

  @Test
  void shouldRefuseBlankName() {
    final StorageContext context = new StorageContext(1, "test", null, Map.of(MemoryStores.NAME_OPTION, " "));

    assertThatThrownBy(() -> new MemoryStorageProvider().open(context))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(MemoryStores.NAME_OPTION);
  }
}
