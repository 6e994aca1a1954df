package io.raftkit.testkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The crash suite: a child JVM ({@link CrashChild}) appends and syncs in a loop and reports every
 * synced log id; the test kills it with SIGKILL ({@link Process#destroyForcibly()} on Linux) after
 * a random number of reports, reopens the store and checks that every reported entry is there,
 * intact, with no gaps. It repeats {@link #kills()} times on the same store, each child with a
 * higher term.
 *
 * <pre>{@code
 * class MyStorageCrashTest extends StorageCrashTck {
 *   @Override
 *   protected String providerName() {
 *     return "my";
 *   }
 * }
 * }</pre>
 *
 * <p>The child runs with this JVM's {@code java} and with this JVM's module path and class path
 * put together on its class path (the provider is found through {@code META-INF/services}), so
 * the provider's jar and its dependencies must be on the test's paths. Its temporary directory
 * is inside the test's, since files a killed JVM leaves there (such as extracted native
 * libraries) are never deleted otherwise. Linux only (SIGKILL, {@code /proc}).
 */
public abstract class StorageCrashTck {

  /** The system property overriding how many times the child is killed. */
  public static final String KILLS_PROPERTY = "raftkit.crash.kills";

  private static final long STEP_TIMEOUT_SECONDS = 60;

  /** For subclasses. */
  protected StorageCrashTck() {}

  /**
   * The name of the storage provider under test.
   *
   * @return the name
   */
  protected abstract String providerName();

  /**
   * The provider options, for the child and for reopening in the test.
   *
   * @return the options; none by default
   */
  protected Map<String, String> options() {
    return Map.of();
  }

  /**
   * How many times the child is killed: the system property {@value #KILLS_PROPERTY}, default 20.
   *
   * @return the count
   */
  protected int kills() {
    return Integer.getInteger(KILLS_PROPERTY, 20);
  }

  private RaftStorage open(final Path dir) throws IOException {
    return Providers.storage(providerName()).open(new StorageContext(1, "crash", dir, options()));
  }

  private static String childClassPath() {
    final List<String> parts = new ArrayList<>();
    for (final String prop : List.of("jdk.module.path", "java.class.path")) {
      final String value = System.getProperty(prop);
      if (value != null && !value.isBlank()) {
        parts.add(value);
      }
    }
    return String.join(File.pathSeparator, parts);
  }

  /**
   * Kills a child that appends and syncs, {@link #kills()} times, and checks after each kill that
   * every synced entry survived intact.
   *
   * @throws Exception if the child or the store fails
   */
  @Test
  public void shouldKeepEverySyncedEntryAcrossKillNine() throws Exception {
    final Path work = Files.createTempDirectory("raftkit-crash-tck-");
    try {
      run(work);
    } finally {
      deleteRecursively(work);
    }
  }

  private void run(final Path work) throws Exception {
    final Path dir = Files.createDirectories(work.resolve("store"));
    final Path childTmp = work.resolve("child-tmp");
    final long seed = System.nanoTime();
    final SplittableRandom random = new SplittableRandom(seed);
    final TreeMap<Long, Long> reported = new TreeMap<>(); // synced index -> term
    final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    final String classPath = childClassPath();
    for (int round = 1; round <= kills(); round++) {
      final String at = "seed=" + seed + " round=" + round + " provider=" + providerName();
      Files.createDirectories(childTmp);
      final List<String> command = new ArrayList<>(List.of(
          java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=" + childTmp,
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
          "-cp", classPath, CrashChild.class.getName(),
          providerName(), dir.toString(), String.valueOf(round), String.valueOf(random.nextLong())));
      options().forEach((k, v) -> command.add(k + "=" + v));
      final Path stderr = work.resolve("child-" + round + ".err");
      final Process child = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
      final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      final Thread pump = new Thread(() -> pumpLines(child, lines), "crash-tck-stdout-" + round);
      pump.setDaemon(true);
      pump.start();
      try {
        final String open = nextLine(lines, child, stderr, at);
        assertThat(open).as(at).startsWith("open ");
        final long openIndex = Long.parseLong(open.split(" ")[2]);
        if (!reported.isEmpty()) {
          assertThat(openIndex).as("%s: the child opened a log shorter than what was synced", at)
              .isGreaterThanOrEqualTo(reported.lastKey());
        }
        final int reportsBeforeKill = 1 + random.nextInt(20);
        for (int i = 0; i < reportsBeforeKill; i++) {
          final String[] synced = nextLine(lines, child, stderr, at).split(" ");
          assertThat(synced[0]).as(at).isEqualTo("synced");
          reported.put(Long.parseLong(synced[2]), Long.parseLong(synced[1]));
        }
      } finally {
        child.destroyForcibly();
        assertThat(child.waitFor(STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("%s: child exited", at).isTrue();
      }
      deleteRecursively(childTmp);
      check(dir, reported, at);
    }
  }

  private void check(final Path dir, final TreeMap<Long, Long> reported, final String at) throws IOException {
    try (RaftStorage storage = open(dir)) {
      final LogId last = storage.log().lastLogId();
      assertThat(last.index()).as("%s: lastLogId=%s below the last synced index", at, last)
          .isGreaterThanOrEqualTo(reported.lastKey());
      long expected = storage.log().firstIndex();
      assertThat(expected).as(at).isEqualTo(1);
      while (expected <= last.index()) {
        final List<Entry> chunk = storage.log().read(expected, last.index() + 1, 4 << 20);
        for (final Entry e : chunk) {
          assertThat(e.index()).as("%s: gap", at).isEqualTo(expected);
          assertThat(TckEntries.isIntact(e)).as("%s: entry %s is damaged", at, e).isTrue();
          final Long term = reported.get(e.index());
          if (term != null) {
            assertThat(e.term()).as("%s: synced entry %d changed term", at, e.index()).isEqualTo(term);
          }
          expected++;
        }
      }
    }
  }

  private static void pumpLines(final Process child, final BlockingQueue<String> lines) {
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        lines.add(line);
      }
    } catch (final IOException e) {
      // The child was killed mid-line: the stream ends; what it printed whole is in the queue.
    }
  }

  private static String nextLine(
      final BlockingQueue<String> lines, final Process child, final Path stderr, final String at) throws Exception {
    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STEP_TIMEOUT_SECONDS);
    while (true) {
      final String line = lines.poll(100, TimeUnit.MILLISECONDS);
      if (line != null) {
        return line;
      }
      if (!child.isAlive() && lines.isEmpty()) {
        throw new AssertionError(at + ": child exited with code=" + child.exitValue() + " before reporting; stderr:\n"
            + Files.readString(stderr));
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(at + ": no report from the child within " + STEP_TIMEOUT_SECONDS + "s; stderr:\n"
            + Files.readString(stderr));
      }
    }
  }

  private static void deleteRecursively(final Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(final Path d, final IOException e) throws IOException {
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
