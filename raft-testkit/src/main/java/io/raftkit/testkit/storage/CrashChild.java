package io.raftkit.testkit.storage;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The child process of {@link StorageCrashTck}: opens a store, reports its last log id, then
 * appends batches of {@link TckEntries} and syncs each, reporting every synced last id on stdout,
 * until it is killed.
 *
 * <p>Protocol, one line each: {@code open <term> <index>} once, then {@code synced <term>
 * <index>} after each sync returned.
 */
public final class CrashChild {

  private CrashChild() {}

  /**
   * Runs the child.
   *
   * @param args provider name, data directory, term to append with, seed, then options as {@code
   *     key=value}
   * @throws Exception on any failure (the parent sees the exit and the stderr)
   */
  public static void main(final String[] args) throws Exception {
    final String provider = args[0];
    final Path dir = Path.of(args[1]);
    final long term = Long.parseLong(args[2]);
    final SplittableRandom random = new SplittableRandom(Long.parseLong(args[3]));
    final Map<String, String> options = new HashMap<>();
    for (int i = 4; i < args.length; i++) {
      final int eq = args[i].indexOf('=');
      options.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    final PrintStream out = System.out;
    final RaftStorage storage = Providers.storage(provider).open(new StorageContext(1, "crash", dir, options));
    final LogId last = storage.log().lastLogId();
    out.println("open " + last.term() + " " + last.index());
    out.flush();
    final long t = Math.max(term, last.term());
    long next = last.index() + 1;
    while (true) {
      final int n = 1 + random.nextInt(64);
      final List<Entry> batch = new ArrayList<>(n);
      for (int i = 0; i < n; i++, next++) {
        final int size = random.nextInt(50) == 0 ? 100_000 : random.nextInt(2048);
        batch.add(TckEntries.entry(t, next, size));
      }
      storage.log().append(batch);
      storage.log().sync();
      out.println("synced " + t + " " + (next - 1));
      out.flush();
    }
  }
}
