package io.raftkit.storage.memory.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.SnapshotReader;
import io.raftkit.api.spi.SnapshotWriter;
import io.raftkit.storage.memory.MemoryStores;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MemorySnapshotStoreTest {

  private static final StoredMembership MEMBERSHIP =
      new StoredMembership(LogId.of(1, 1), Membership.ofVoters(Map.of(1L, "a")));

  private RaftStorage storage;

  @BeforeEach
  void open() throws IOException {
    storage = TestEntries.openNamed("snapshots");
  }

  @AfterEach
  void close() throws IOException {
    storage.close();
    MemoryStores.clear();
  }

  private static SnapshotMeta meta(final long index, final String id) {
    return new SnapshotMeta(LogId.of(1, index), MEMBERSHIP, id);
  }

  private static byte[] readAll(final SnapshotReader reader, final int bufferSize) throws IOException {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteBuffer buf = ByteBuffer.allocate(bufferSize);
    long position = 0;
    while (true) {
      buf.clear();
      final int n = reader.read(position, buf);
      if (n < 0) {
        return out.toByteArray();
      }
      out.write(buf.array(), 0, n);
      position += n;
    }
  }

  private void writeFinished(final SnapshotMeta meta, final String text) throws IOException {
    try (SnapshotWriter writer = storage.snapshots().begin(meta)) {
      writer.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      writer.finish();
    }
  }

  @Test
  void shouldWriteChunksAndReadThemBack() throws IOException {
    final byte[] data = new byte[10_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31);
    }
    try (SnapshotWriter writer = storage.snapshots().begin(meta(5, "s1"))) {
      for (int off = 0; off < data.length; off += 777) {
        writer.write(ByteBuffer.wrap(data, off, Math.min(777, data.length - off)));
      }
      writer.finish();
    }

    final Optional<SnapshotReader> latest = storage.snapshots().openLatest();
    assertThat(latest).isPresent();
    try (SnapshotReader reader = latest.get()) {
      assertThat(reader.meta()).isEqualTo(meta(5, "s1"));
      assertThat(reader.size()).isEqualTo(data.length);
      assertThat(readAll(reader, 1000)).isEqualTo(data);
    }
  }

  @Test
  void shouldConsumeOnlyRemainingBytesOfChunk() throws IOException {
    final ByteBuffer chunk = ByteBuffer.wrap("xxabcxx".getBytes(StandardCharsets.UTF_8));
    chunk.position(2).limit(5);
    try (SnapshotWriter writer = storage.snapshots().begin(meta(1, "s"))) {
      writer.write(chunk);
      writer.finish();
    }
    assertThat(chunk.hasRemaining()).isFalse();
    try (SnapshotReader reader = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(new String(readAll(reader, 2), StandardCharsets.UTF_8)).isEqualTo("abc");
    }
  }

  @Test
  void shouldNotShowUnfinishedSnapshot() throws IOException {
    writeFinished(meta(3, "old"), "old");
    final SnapshotWriter writer = storage.snapshots().begin(meta(7, "new"));
    writer.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));

    try (SnapshotReader reader = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(reader.meta().snapshotId()).isEqualTo("old");
    }
    writer.close();
    try (SnapshotReader reader = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(reader.meta().snapshotId()).isEqualTo("old");
    }
  }

  @Test
  void shouldReplaceLatestOnFinish() throws IOException {
    writeFinished(meta(3, "old"), "old");
    final SnapshotReader oldReader = storage.snapshots().openLatest().orElseThrow();

    writeFinished(meta(7, "new"), "new data");

    try (SnapshotReader reader = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(reader.meta().snapshotId()).isEqualTo("new");
      assertThat(new String(readAll(reader, 64), StandardCharsets.UTF_8)).isEqualTo("new data");
    }
    assertThat(new String(readAll(oldReader, 64), StandardCharsets.UTF_8)).isEqualTo("old");
    oldReader.close();
  }

  @Test
  void shouldRefuseWriteOrFinishAfterFinishOrClose() throws IOException {
    final SnapshotWriter finished = storage.snapshots().begin(meta(1, "a"));
    finished.finish();
    assertThatThrownBy(() -> finished.write(ByteBuffer.allocate(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("snapshotId=a")
        .hasMessageContaining("finished");
    assertThatThrownBy(finished::finish).isInstanceOf(IllegalStateException.class);
    finished.close();

    final SnapshotWriter closed = storage.snapshots().begin(meta(2, "b"));
    closed.close();
    closed.close();
    assertThatThrownBy(closed::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThat(storage.snapshots().openLatest().orElseThrow().meta().snapshotId()).isEqualTo("a");
  }

  @Test
  void shouldReadFromAnyPositionAndReportEnd() throws IOException {
    writeFinished(meta(1, "p"), "0123456789");
    try (SnapshotReader reader = storage.snapshots().openLatest().orElseThrow()) {
      final ByteBuffer buf = ByteBuffer.allocate(4);
      assertThat(reader.read(8, buf)).isEqualTo(2);
      assertThat(new String(buf.array(), 0, 2, StandardCharsets.UTF_8)).isEqualTo("89");
      assertThat(reader.read(10, ByteBuffer.allocate(4))).isEqualTo(-1);
      assertThatThrownBy(() -> reader.read(-1, ByteBuffer.allocate(1))).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void shouldKeepFinishedSnapshotAcrossCrashAndDropUnfinished() throws IOException {
    writeFinished(meta(3, "kept"), "kept");
    final SnapshotWriter unfinished = storage.snapshots().begin(meta(9, "lost"));
    unfinished.write(ByteBuffer.wrap(new byte[] {1}));

    MemoryStores.get("snapshots").crash();

    assertThatThrownBy(unfinished::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    storage = TestEntries.openNamed("snapshots");
    try (SnapshotReader reader = storage.snapshots().openLatest().orElseThrow()) {
      assertThat(reader.meta().snapshotId()).isEqualTo("kept");
    }
    assertThat(MemoryStores.get("snapshots").latestSnapshot()).contains(meta(3, "kept"));
  }
}
