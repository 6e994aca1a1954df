package io.raftkit.examples.kv.chaos;

import io.raftkit.examples.kv.chaos.ChaosRunner.FaultWindow;
import io.raftkit.examples.kv.chaos.ChaosRunner.LeaderKill;
import io.raftkit.examples.kv.chaos.ChaosRunner.Rejoin;
import io.raftkit.examples.kv.chaos.ChaosRunner.Restart;
import io.raftkit.examples.kv.chaos.ChaosRunner.Result;
import io.raftkit.examples.kv.chaos.History.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The figures of a chaos run ({@link #figures}) written as {@code report.json}, and {@code
 * report.html}: a self-contained page (inline SVG, no script) with throughput and latency per
 * second and the fault windows shaded.
 *
 * <p>Definitions: <b>failover</b> after a leader kill is the time from the kill to the first
 * acknowledged write invoked after it ({@code election_ms}: to the first poll that saw a new leader
 * of a higher term; polls are 100 ms apart); <b>longest unavailability</b> the longest stretch of
 * the fault phase with no write acknowledged; <b>ops/s during faults</b> counts operations
 * acknowledged inside kill, pause and partition windows, per second of those windows; a
 * <b>rejoin term increase</b> is a restart, resume or heal after which the highest term seen by the
 * metrics polls rose before the next fault began (with PreVote a rejoining node should not cause
 * one; an election the fault itself forced usually happens before the rejoin, and a majority kill
 * is not counted, since the cluster must elect again once the majority is back); <b>restart
 * replay</b> is the
 * time from starting a killed node's JVM to its first metrics answer ({@code http_up}) and to its
 * applying the commit index the cluster had at the restart ({@code caught_up}); <b>voters during
 * faults</b> counts the voters of the leader's configuration (of the highest term in the metrics
 * polls; the smaller set while joint) over the fault phase: the fewest, and the seconds with fewer
 * than all nodes and with fewer than 3 (more than 60 s of those fails the run).
 */
final class ChaosReport {

  private ChaosReport() {}

  /** Every figure, as a JSON-ready map. */
  static Map<String, Object> figures(final Result r) {
    final Map<String, Object> out = new java.util.LinkedHashMap<>();
    out.put("seed", r.settings.seed());
    out.put("nodes", r.settings.nodes());
    out.put("storage", r.storage);
    out.put("transport", "netty (through a fault-injecting TCP proxy per directed link)");
    out.put("clients", r.settings.clients());
    out.put("wall_seconds", round((r.endNanos - r.originNanos) / 1e9));
    out.put("fault_phase_seconds", round((r.faultEndNanos - r.faultStartNanos) / 1e9));
    final Map<String, Object> verdict = new java.util.LinkedHashMap<>();
    verdict.put("passed", r.passed());
    verdict.put("linearizable", r.linearizability == null ? null : r.linearizability.ok());
    verdict.put("linearizability_verdict", r.linearizability == null ? null : r.linearizability.verdict().name());
    verdict.put("lost_acknowledged_writes", r.lostWrites.size());
    verdict.put("write_once_keys_checked", r.uniqueWritesChecked);
    verdict.put("digests_equal", r.digestsEqual);
    verdict.put("converged_index", r.convergedIndex);
    verdict.put("problems", r.problems);
    out.put("verdict", verdict);
    out.put("digests", r.digests);

    final Map<String, Object> faults = new TreeMap<>();
    r.counts.forEach((k, v) -> faults.put(k, v.get()));
    out.put("faults", faults);
    out.put("snapshot_answers", new TreeMap<>(r.snapshotAnswers));

    final List<History.Op> ops = r.ops;
    final Map<String, Object> opCounts = new java.util.LinkedHashMap<>();
    opCounts.put("total", ops.size());
    for (final Outcome o : Outcome.values()) {
      opCounts.put(o.name().toLowerCase(Locale.ROOT), ops.stream().filter(op -> op.outcome() == o).count());
    }
    for (final History.Kind k : History.Kind.values()) {
      opCounts.put(k.name().toLowerCase(Locale.ROOT) + "_ok",
          ops.stream().filter(op -> op.kind() == k && op.outcome() == Outcome.OK).count());
    }
    out.put("ops", opCounts);
    final List<Double> latencies = new ArrayList<>();
    ops.stream().filter(op -> op.outcome() == Outcome.OK && op.client() >= 0)
        .forEach(op -> latencies.add(op.latencyMillis()));
    out.put("latency_ms", percentiles(latencies));

    // Failover after leader kills.
    final List<Double> failover = new ArrayList<>();
    final List<Double> election = new ArrayList<>();
    for (final LeaderKill k : r.leaderKills) {
      long first = Long.MAX_VALUE;
      for (final History.Op op : ops) {
        if (op.write() && op.outcome() == Outcome.OK && op.invokeNanos() >= k.killNanos) {
          first = Math.min(first, op.completeNanos());
        }
      }
      if (first != Long.MAX_VALUE) {
        failover.add((first - k.killNanos) / 1e6);
      }
      if (k.electedNanos != 0) {
        election.add((k.electedNanos - k.killNanos) / 1e6);
      }
    }
    out.put("failover_ms_after_leader_kill", percentiles(failover));
    out.put("election_ms_after_leader_kill", percentiles(election));

    // Longest stretch of the fault phase without an acknowledged write.
    final List<Long> acks = new ArrayList<>();
    for (final History.Op op : ops) {
      if (op.write() && op.outcome() == Outcome.OK && op.completeNanos() >= r.faultStartNanos
          && op.completeNanos() <= r.faultEndNanos) {
        acks.add(op.completeNanos());
      }
    }
    acks.sort(null);
    long longest = 0;
    long longestAt = r.faultStartNanos;
    long previous = r.faultStartNanos;
    acks.add(r.faultEndNanos);
    for (final long t : acks) {
      if (t - previous > longest) {
        longest = t - previous;
        longestAt = previous;
      }
      previous = t;
    }
    final Map<String, Object> unavailable = new java.util.LinkedHashMap<>();
    unavailable.put("ms", round(longest / 1e6));
    unavailable.put("from_second", round((longestAt - r.originNanos) / 1e9));
    out.put("longest_unavailability", unavailable);

    // Throughput inside and outside fault windows (kill, pause, partition) during the fault phase.
    final List<FaultWindow> windows = r.faults.stream().filter(w -> !w.kind().equals("membership")).toList();
    long faultNanos = 0;
    for (final FaultWindow w : windows) {
      faultNanos += w.endNanos() - w.startNanos();
    }
    final long phaseNanos = Math.max(1, r.faultEndNanos - r.faultStartNanos);
    long inFault = 0;
    long healthy = 0;
    for (final History.Op op : ops) {
      if (op.outcome() != Outcome.OK || op.client() < 0 || op.completeNanos() < r.faultStartNanos
          || op.completeNanos() > r.faultEndNanos) {
        continue;
      }
      boolean inside = false;
      for (final FaultWindow w : windows) {
        if (op.completeNanos() >= w.startNanos() && op.completeNanos() <= w.endNanos()) {
          inside = true;
          break;
        }
      }
      if (inside) {
        inFault++;
      } else {
        healthy++;
      }
    }
    final Map<String, Object> rate = new java.util.LinkedHashMap<>();
    rate.put("during_faults", round(inFault / Math.max(1e-9, faultNanos / 1e9)));
    rate.put("between_faults", round(healthy / Math.max(1e-9, (phaseNanos - faultNanos) / 1e9)));
    rate.put("fault_seconds", round(faultNanos / 1e9));
    out.put("ops_per_s", rate);

    // Term increases after rejoins.
    int increased = 0;
    long totalIncrease = 0;
    final Map<String, Integer> byKind = new TreeMap<>();
    final List<String> events = new ArrayList<>();
    for (final Rejoin j : r.rejoins) {
      if (j.termAfter > j.termBefore) {
        increased++;
        totalIncrease += j.termAfter - j.termBefore;
        byKind.merge(j.kind, 1, Integer::sum);
        events.add(fmt((j.nanos - r.originNanos) / 1e9) + " s: " + j.kind + " (" + j.detail + "): term "
            + j.termBefore + " -> " + j.termAfter);
      }
    }
    final Map<String, Object> rejoin = new java.util.LinkedHashMap<>();
    rejoin.put("rejoins", r.rejoins.size());
    rejoin.put("followed_by_a_term_increase", increased);
    rejoin.put("total_term_increase", totalIncrease);
    rejoin.put("by_kind", byKind);
    rejoin.put("events", events);
    out.put("rejoin_term_increases", rejoin);

    final List<Double> up = new ArrayList<>();
    final List<Double> caught = new ArrayList<>();
    for (final Restart s : r.restarts) {
      if (s.httpUpNanos != 0) {
        up.add((s.httpUpNanos - s.startNanos) / 1e6);
      }
      if (s.caughtUpNanos != 0) {
        caught.add((s.caughtUpNanos - s.startNanos) / 1e6);
      }
    }
    final Map<String, Object> replay = new java.util.LinkedHashMap<>();
    replay.put("http_up", percentiles(up));
    replay.put("caught_up", percentiles(caught));
    out.put("restart_replay_ms", replay);
    final Map<String, Object> voters = new java.util.LinkedHashMap<>();
    voters.put("nodes", r.settings.nodes());
    voters.put("min", r.voterTime == null ? null : r.voterTime.min());
    voters.put("seconds_below_" + r.settings.nodes(), r.voterTime == null ? null : round(r.voterTime.nanosBelowFull() / 1e9));
    voters.put("seconds_below_" + ChaosRunner.FEW_VOTERS,
        r.voterTime == null ? null : round(r.voterTime.nanosBelowFew() / 1e9));
    voters.put("max_seconds_below_" + ChaosRunner.FEW_VOTERS, ChaosRunner.MAX_TIME_BELOW_FEW_VOTERS.toSeconds());
    voters.put("changes", r.voterTimeline.size());
    out.put("voters_during_faults", voters);
    out.put("notes", r.notes);
    out.put("notes_dropped", r.notesDropped.get());
    out.put("lost_writes", r.lostWrites.size() > 20 ? r.lostWrites.subList(0, 20) : r.lostWrites);
    out.put("linearizability_detail", r.linearizability == null ? null : r.linearizability.detail());
    return out;
  }

  /** Writes {@code report.json} and {@code report.html} into {@code dir}. */
  static void write(final Result r, final Path dir) throws IOException {
    final Map<String, Object> figures = figures(r);
    Files.writeString(dir.resolve("report.json"), json(figures, "") + "\n");
    Files.writeString(dir.resolve("report.html"), html(r, figures));
  }

  // ------------------------------------------------------------------ HTML

  private static String html(final Result r, final Map<String, Object> figures) {
    final long origin = r.originNanos;
    final int seconds = (int) Math.max(1, Math.ceil((r.endNanos - origin) / 1e9));
    final int[] ok = new int[seconds + 1];
    final int[] bad = new int[seconds + 1];
    final List<List<Double>> lat = new ArrayList<>();
    for (int i = 0; i <= seconds; i++) {
      lat.add(new ArrayList<>());
    }
    for (final History.Op op : r.ops) {
      if (op.client() < 0) {
        continue;
      }
      final int s = (int) Math.min(seconds, Math.max(0, (op.completeNanos() - origin) / 1_000_000_000L));
      if (op.outcome() == Outcome.OK) {
        ok[s]++;
        lat.get(s).add(op.latencyMillis());
      } else {
        bad[s]++;
      }
    }
    final double[] p50 = new double[seconds + 1];
    final double[] p99 = new double[seconds + 1];
    for (int i = 0; i <= seconds; i++) {
      p50[i] = percentile(lat.get(i), 0.50);
      p99[i] = percentile(lat.get(i), 0.99);
    }
    final StringBuilder b = new StringBuilder();
    b.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>raft-kv chaos run, seed ")
        .append(r.settings.seed()).append("</title><style>body{font-family:sans-serif;margin:20px}"
            + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;"
            + "vertical-align:top;font-size:13px}pre{font-size:12px}</style></head><body>");
    b.append("<h1>raft-kv chaos run: ").append(r.passed() ? "PASSED" : "FAILED").append("</h1>");
    b.append("<p>seed ").append(r.settings.seed()).append(", ").append(r.settings.nodes())
        .append(" serve processes, ").append(r.settings.clients()).append(" clients. Shaded: ")
        .append("<span style=\"background:#f4a5a5\">kill -9 (to restart)</span> ")
        .append("<span style=\"background:#c8b3e0\">SIGSTOP pause</span> ")
        .append("<span style=\"background:#ffd29e\">partition</span>; green bars under the axis: voter removed "
            + "until re-added. Hover a window for its detail.</p>");
    final double[] okD = new double[seconds + 1];
    final double[] badD = new double[seconds + 1];
    for (int i = 0; i <= seconds; i++) {
      okD[i] = ok[i];
      badD[i] = bad[i];
    }
    b.append("<h2>Throughput (operations completed per second)</h2>");
    chart(b, r, seconds, List.of(okD, badD), List.of("#1f77b4", "#d62728"),
        List.of("acknowledged", "failed or unknown"), "ops/s");
    b.append("<h2>Latency of acknowledged operations (ms, per second)</h2>");
    chart(b, r, seconds, List.of(p50, p99), List.of("#2ca02c", "#9467bd"), List.of("p50", "p99"), "ms");
    b.append("<h2>Figures</h2><pre>").append(escape(json(figures, ""))).append("</pre>");
    b.append("<h2>Fault windows</h2><table><tr><th>from s</th><th>to s</th><th>kind</th><th>detail</th></tr>");
    final List<FaultWindow> byStart = new ArrayList<>(r.faults);
    byStart.sort(java.util.Comparator.comparingLong(FaultWindow::startNanos));
    for (final FaultWindow w : byStart) {
      b.append("<tr><td>").append(fmt((w.startNanos() - origin) / 1e9)).append("</td><td>")
          .append(fmt((w.endNanos() - origin) / 1e9)).append("</td><td>").append(w.kind()).append("</td><td>")
          .append(escape(w.detail())).append("</td></tr>");
    }
    b.append("</table></body></html>\n");
    return b.toString();
  }

  private static void chart(
      final StringBuilder b, final Result r, final int seconds, final List<double[]> series,
      final List<String> colors, final List<String> names, final String unit) {
    final int w = 1100;
    final int h = 260;
    final int left = 60;
    final int right = 20;
    final int top = 20;
    final int bottom = 50;
    final int pw = w - left - right;
    final int ph = h - top - bottom;
    double max = 1;
    for (final double[] s : series) {
      for (final double v : s) {
        max = Math.max(max, v);
      }
    }
    max = niceCeiling(max);
    final double xs = (double) pw / seconds;
    b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
        .append("\" style=\"border:1px solid #ddd\">");
    for (final FaultWindow f : r.faults) {
      final double x0 = left + xs * (f.startNanos() - r.originNanos) / 1e9;
      final double x1 = left + xs * (f.endNanos() - r.originNanos) / 1e9;
      if (f.kind().equals("membership")) {
        b.append("<rect x=\"").append(fmt(x0)).append("\" y=\"").append(top + ph + 4).append("\" width=\"")
            .append(fmt(Math.max(1, x1 - x0))).append("\" height=\"5\" fill=\"#2ca02c\"><title>")
            .append(escape(f.detail())).append("</title></rect>");
        continue;
      }
      final String fill = switch (f.kind()) {
        case "kill" -> "#f4a5a5";
        case "pause" -> "#c8b3e0";
        default -> "#ffd29e";
      };
      b.append("<rect x=\"").append(fmt(x0)).append("\" y=\"").append(top).append("\" width=\"")
          .append(fmt(Math.max(1, x1 - x0))).append("\" height=\"").append(ph).append("\" fill=\"").append(fill)
          .append("\" fill-opacity=\"0.7\"><title>").append(escape(f.kind() + ": " + f.detail())).append(" (")
          .append(fmt((f.startNanos() - r.originNanos) / 1e9)).append("–")
          .append(fmt((f.endNanos() - r.originNanos) / 1e9)).append(" s)</title></rect>");
    }
    // Axes and grid.
    for (int i = 0; i <= 4; i++) {
      final double y = top + ph - ph * i / 4.0;
      b.append("<line x1=\"").append(left).append("\" x2=\"").append(left + pw).append("\" y1=\"").append(fmt(y))
          .append("\" y2=\"").append(fmt(y)).append("\" stroke=\"#ddd\"/>");
      b.append("<text x=\"").append(left - 5).append("\" y=\"").append(fmt(y + 4))
          .append("\" font-size=\"11\" text-anchor=\"end\">").append(fmt(max * i / 4)).append("</text>");
    }
    final int step = Math.max(1, niceStep(seconds / 10.0));
    for (int s = 0; s <= seconds; s += step) {
      final double x = left + xs * s;
      b.append("<text x=\"").append(fmt(x)).append("\" y=\"").append(top + ph + 22)
          .append("\" font-size=\"11\" text-anchor=\"middle\">").append(s).append("</text>");
    }
    b.append("<text x=\"").append(left + pw / 2).append("\" y=\"").append(h - 6)
        .append("\" font-size=\"12\" text-anchor=\"middle\">seconds since start</text>");
    b.append("<text x=\"14\" y=\"").append(top + ph / 2).append("\" font-size=\"12\" transform=\"rotate(-90 14 ")
        .append(top + ph / 2).append(")\" text-anchor=\"middle\">").append(unit).append("</text>");
    for (int k = 0; k < series.size(); k++) {
      final double[] s = series.get(k);
      final StringBuilder pts = new StringBuilder();
      for (int i = 0; i < s.length; i++) {
        pts.append(fmt(left + xs * (i + 0.5))).append(',').append(fmt(top + ph - ph * s[i] / max)).append(' ');
      }
      b.append("<polyline fill=\"none\" stroke=\"").append(colors.get(k)).append("\" stroke-width=\"1.5\" points=\"")
          .append(pts).append("\"/>");
      b.append("<text x=\"").append(left + 10 + 150 * k).append("\" y=\"").append(top + 12)
          .append("\" font-size=\"12\" fill=\"").append(colors.get(k)).append("\">").append(names.get(k))
          .append("</text>");
    }
    b.append("<rect x=\"").append(left).append("\" y=\"").append(top).append("\" width=\"").append(pw)
        .append("\" height=\"").append(ph).append("\" fill=\"none\" stroke=\"#999\"/></svg>");
  }

  private static double niceCeiling(final double v) {
    final double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (final double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }

  private static int niceStep(final double v) {
    for (final int s : new int[] {1, 2, 5, 10, 15, 30, 60, 120, 300, 600}) {
      if (s >= v) {
        return s;
      }
    }
    return 1200;
  }

  // ------------------------------------------------------------------ numbers and JSON

  static Map<String, Object> percentiles(final List<Double> values) {
    final Map<String, Object> out = new java.util.LinkedHashMap<>();
    out.put("count", values.size());
    out.put("p50", values.isEmpty() ? null : round(percentile(values, 0.50)));
    out.put("p99", values.isEmpty() ? null : round(percentile(values, 0.99)));
    out.put("max", values.isEmpty() ? null : round(values.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
    return out;
  }

  /** The nearest-rank percentile; 0 for no values. */
  static double percentile(final List<Double> values, final double q) {
    if (values.isEmpty()) {
      return 0;
    }
    final List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    final int rank = (int) Math.ceil(q * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  private static double round(final double v) {
    return Math.round(v * 10) / 10.0;
  }

  private static String fmt(final double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
  }

  static String json(final Object v, final String indent) {
    if (v == null) {
      return "null";
    }
    if (v instanceof Boolean || v instanceof Integer || v instanceof Long) {
      return v.toString();
    }
    if (v instanceof Number n) {
      return Double.isFinite(n.doubleValue()) ? fmt(n.doubleValue()) : "null";
    }
    if (v instanceof java.util.concurrent.atomic.AtomicInteger a) {
      return Integer.toString(a.get());
    }
    final String inner = indent + "  ";
    if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        return "{}";
      }
      final StringBuilder b = new StringBuilder("{\n");
      boolean first = true;
      for (final Map.Entry<?, ?> e : m.entrySet()) {
        b.append(first ? "" : ",\n").append(inner).append(quote(String.valueOf(e.getKey()))).append(": ")
            .append(json(e.getValue(), inner));
        first = false;
      }
      return b.append('\n').append(indent).append('}').toString();
    }
    if (v instanceof Collection<?> c) {
      if (c.isEmpty()) {
        return "[]";
      }
      final StringBuilder b = new StringBuilder("[\n");
      boolean first = true;
      for (final Object o : c) {
        b.append(first ? "" : ",\n").append(inner).append(json(o, inner));
        first = false;
      }
      return b.append('\n').append(indent).append(']').toString();
    }
    return quote(v.toString());
  }

  private static String quote(final String s) {
    final StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      final char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private static String escape(final String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
