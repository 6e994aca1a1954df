package io.raftkit.storage.memory.internal;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.storage.memory.MemoryStores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builders shared by the tests of this package. */
final class TestEntries {

  private TestEntries() {}

  /** A normal entry whose payload names its id. */
  static Entry entry(final long term, final long index) {
    return Entry.normal(LogId.of(term, index), ("e" + term + "-" + index).getBytes(StandardCharsets.UTF_8));
  }

  /** A normal entry with a payload of {@code size} bytes. */
  static Entry sized(final long term, final long index, final int size) {
    return Entry.normal(LogId.of(term, index), new byte[size]);
  }

  /** Entries {@code [from, to]} of one term. */
  static List<Entry> entries(final long term, final long from, final long to) {
    final List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(entry(term, i));
    }
    return out;
  }

  /** Opens a fresh anonymous store. */
  static RaftStorage openFresh() throws IOException {
    return new MemoryStorageProvider().open(new StorageContext(1, "test", null, Map.of()));
  }

  /** Opens the named store. */
  static RaftStorage openNamed(final String name) throws IOException {
    return new MemoryStorageProvider()
        .open(new StorageContext(1, "test", null, Map.of(MemoryStores.NAME_OPTION, name)));
  }
}
