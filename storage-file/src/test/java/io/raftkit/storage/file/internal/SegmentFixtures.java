package io.raftkit.storage.file.internal;

import static io.raftkit.testkit.storage.TckEntries.entry;

import io.raftkit.api.Entry;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the preallocation and recycling tests share: 16 KiB segments of 1000-byte records
 * (975-byte payloads), 16 to a segment, and ways to read a store back.
 */
final class SegmentFixtures {

  static final int SEG = 16 * 1024;
  static final int PAYLOAD = 975;
  static final int RECORD = Segment.RECORD_HEADER_BYTES + PAYLOAD;

  private SegmentFixtures() {}

  /** Entries {@code [from, to]} of 1000-byte records. */
  static List<Entry> bigs(final long term, final long from, final long to) {
    final List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(entry(term, i, PAYLOAD));
    }
    return out;
  }

  /** The offset of the record of {@code index} in a segment of 1000-byte records starting at {@code first}. */
  static long offsetIn(final long first, final long index) {
    return Segment.HEADER_BYTES + (index - first) * RECORD;
  }

  /** The {@code *.tmp} files in the store's log directory. */
  static List<Path> tempFiles(final Path storeDir) throws IOException {
    final List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(storeDir.resolve("log"), "*.tmp")) {
      ds.forEach(out::add);
    }
    return out;
  }

  /** Every entry the store's log holds. */
  static List<Entry> readAll(final FileRaftStorage s) throws IOException {
    return s.log().read(s.log().firstIndex(), s.log().lastLogId().index() + 1, Long.MAX_VALUE);
  }

  static List<Entry> concat(final List<Entry> a, final List<Entry> b) {
    final List<Entry> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
