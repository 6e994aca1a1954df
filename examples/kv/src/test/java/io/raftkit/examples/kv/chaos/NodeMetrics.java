package io.raftkit.examples.kv.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The figures the chaos runner reads from a node's {@code GET /admin/metrics} answer (found with
 * patterns: the answer's shape is raft-kv's own, see {@code HttpApi.metricsJson}).
 *
 * @param node the node id
 * @param state {@code LEADER}, {@code FOLLOWER}, ...
 * @param term the current term
 * @param leader the known leader, 0 if none
 * @param committed the committed index
 * @param applied the last applied index
 * @param voterSets the voter sets of the effective membership (two while joint)
 * @param learners the learners
 * @param fatalError the fatal error, or {@code null}
 */
record NodeMetrics(
    long node, String state, long term, long leader, long committed, long applied, List<Set<Long>> voterSets,
    Set<Long> learners, String fatalError) {

  private static final Pattern NODE = Pattern.compile("\"node_id\":(\\d+)");
  private static final Pattern STATE = Pattern.compile("\"state\":\"([A-Z_]+)\"");
  private static final Pattern TERM = Pattern.compile("\"current_term\":(\\d+)");
  private static final Pattern LEADER = Pattern.compile("\"current_leader\":(\\d+|null)");
  private static final Pattern COMMITTED = Pattern.compile("\"committed\":\\{\"term\":\\d+,\"index\":(\\d+)\\}");
  private static final Pattern APPLIED = Pattern.compile("\"last_applied\":\\{\"term\":\\d+,\"index\":(\\d+)\\}");
  private static final Pattern VOTERS = Pattern.compile("\"voter_sets\":\\[((?:\\[[0-9,]*\\],?)*)\\]");
  private static final Pattern SET = Pattern.compile("\\[([0-9,]*)\\]");
  private static final Pattern LEARNERS = Pattern.compile("\"learners\":\\[([0-9,]*)\\]");
  private static final Pattern FATAL = Pattern.compile("\"fatal_error\":(null|\"(?:[^\"\\\\]|\\\\.)*\")");

  /** Whether this node leads. */
  boolean isLeader() {
    return state.equals("LEADER");
  }

  /** Every voter of every voter set. */
  Set<Long> voters() {
    final Set<Long> all = new TreeSet<>();
    voterSets.forEach(all::addAll);
    return all;
  }

  /** Parses an answer of {@code GET /admin/metrics}. */
  static NodeMetrics parse(final String body) {
    final List<Set<Long>> sets = new ArrayList<>();
    final Matcher v = VOTERS.matcher(body);
    if (v.find()) {
      final Matcher s = SET.matcher(v.group(1));
      while (s.find()) {
        sets.add(ids(s.group(1)));
      }
    }
    final Matcher l = LEARNERS.matcher(body);
    final String fatal = group(FATAL, body, "null");
    final String leader = group(LEADER, body, "null");
    return new NodeMetrics(
        Long.parseLong(group(NODE, body, "0")),
        group(STATE, body, "UNKNOWN"),
        Long.parseLong(group(TERM, body, "0")),
        leader.equals("null") ? 0 : Long.parseLong(leader),
        Long.parseLong(group(COMMITTED, body, "0")),
        Long.parseLong(group(APPLIED, body, "0")),
        List.copyOf(sets),
        l.find() ? ids(l.group(1)) : Set.of(),
        fatal.equals("null") ? null : fatal);
  }

  private static Set<Long> ids(final String csv) {
    final Set<Long> out = new TreeSet<>();
    for (final String p : csv.split(",")) {
      if (!p.isBlank()) {
        out.add(Long.parseLong(p.trim()));
      }
    }
    return out;
  }

  private static String group(final Pattern p, final String body, final String fallback) {
    final Matcher m = p.matcher(body);
    return m.find() ? m.group(1) : fallback;
  }
}
