package io.raftkit.examples.kv.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * The long chaos run: {@code scripts/chaos.sh --minutes M [--seed S] [--clients N] [--out DIR]}.
 * Faults for {@code M} minutes, then the same verdicts as {@link ChaosTest}; writes {@code
 * report.json} and {@code report.html} into the output directory (default {@code
 * examples/kv/target/chaos/run-<time>}) and exits 0 if every verdict holds, 1 if not, 2 for a bad
 * command line.
 */
public final class ChaosMain {

  private ChaosMain() {}

  /** See the class comment. */
  public static void main(final String[] args) throws Exception {
    double minutes = 30;
    long seed = System.currentTimeMillis();
    int clients = 8;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      final String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--minutes" -> minutes = Double.parseDouble(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--clients" -> clients = Integer.parseInt(value);
        case "--out" -> out = Path.of(value);
        default -> {
          System.err.println("chaos: unknown option " + args[i]
              + "; use --minutes M, --seed S, --clients N, --out DIR");
          System.exit(2);
        }
      }
      i++;
    }
    if (out == null) {
      out = Path.of("examples", "kv", "target", "chaos",
          "run-" + Instant.now().toString().replace(':', '-').replaceAll("\\..*", "") + "-seed-" + seed);
    }
    out = out.toAbsolutePath();
    final ChaosRunner.Settings settings = new ChaosRunner.Settings(seed, 5, clients, 0,
        Duration.ofMillis((long) (minutes * 60_000)), Duration.ofSeconds(20), Duration.ofSeconds(10),
        Duration.ofMinutes(10), out);
    ChaosRunner.Result r;
    try {
      r = new ChaosRunner(settings).run(System.out);
    } catch (final Exception e) {
      System.err.println("chaos: the run failed (seed " + seed + ", logs in " + out + "): " + e);
      e.printStackTrace();
      System.exit(1);
      return;
    }
    ChaosReport.write(r, out);
    System.out.println("chaos: " + ChaosRunner.summary(r));
    System.out.println("chaos: report " + out.resolve("report.json") + " and " + out.resolve("report.html"));
    if (!r.passed()) {
      System.out.println("chaos: FAILED (seed " + seed + "): problems " + r.problems + "; lost " + r.lostWrites
          + "; digests " + r.digests + "; linearizability "
          + (r.linearizability == null ? "not checked" : r.linearizability.detail()));
    }
    System.exit(r.passed() ? 0 : 1);
  }
}
