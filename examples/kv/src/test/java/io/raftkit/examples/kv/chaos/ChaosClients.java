package io.raftkit.examples.kv.chaos;

import io.raftkit.examples.kv.chaos.History.Kind;
import io.raftkit.examples.kv.chaos.History.Outcome;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Concurrent HTTP clients that record a {@link History}: each runs one operation at a time, chosen
 * from its own seeded random: linearizable and lease reads (a third of them sent to a random node,
 * since followers serve them with a read index from the leader), puts and compare-and-sets of shared
 * register keys (a new set of keys every few seconds, so each key's history stays small enough to
 * check), and puts of write-once keys (to count acknowledged writes lost). Every value written is
 * unique.
 *
 * <p>An operation goes to the node believed to lead; 307 redirects are followed and refusals that
 * certainly changed nothing (connection refused, 503 with no leader) are retried elsewhere for up
 * to {@link #OP_DEADLINE_NANOS}; a write without an answer, a 504 or a 5xx other than those is
 * {@link Outcome#UNKNOWN} and is not retried (a retry could apply it twice).
 */
final class ChaosClients {

  static final int REQUEST_TIMEOUT_MILLIS = 3000;
  static final long OP_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** How long a set of register keys is in use. */
  static final long KEY_EPOCH_NANOS = TimeUnit.SECONDS.toNanos(3);
  static final int KEYS_PER_EPOCH = 5;

  private static final Pattern VALUE = Pattern.compile("\"value\":(null|\"(-?\\d+)\")");
  private static final Pattern NODE = Pattern.compile("\"node\":(\\d+)");

  private final ChaosCluster cluster;
  private final History history;
  private final long seed;
  private final int count;
  private final long originNanos;
  private final Map<String, Long> httpToId = new HashMap<>();
  private final List<Long> ids;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stop;
  /** The first exception that ended a client thread, or {@code null}. */
  volatile Throwable failure;
  private volatile long leaderHint = 1;
  /** Write-once keys whose put was acknowledged, with the value. */
  final Map<String, Long> acknowledgedOnce = new ConcurrentHashMap<>();
  /** Write-once keys whose put is of unknown outcome. */
  final Set<String> unknownOnce = ConcurrentHashMap.newKeySet();
  /** Every register key used. */
  final Set<String> registerKeys = ConcurrentHashMap.newKeySet();

  ChaosClients(
      final ChaosCluster cluster, final History history, final long seed, final int count, final long originNanos) {
    this.cluster = cluster;
    this.history = history;
    this.seed = seed;
    this.count = count;
    this.originNanos = originNanos;
    this.ids = new ArrayList<>(cluster.ids());
    for (final ChaosCluster.Node n : cluster.nodes()) {
      httpToId.put(n.httpAddress(), n.id());
    }
  }

  void start() {
    for (int c = 0; c < count; c++) {
      final int client = c;
      final Thread t = new Thread(() -> run(client), "chaos-client-" + c);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Stops every client after its current operation. */
  void stop() throws InterruptedException {
    stop = true;
    for (final Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
      if (t.isAlive()) {
        throw new IllegalStateException(t.getName() + " did not stop within 30 s");
      }
    }
  }

  private void run(final int client) {
    final Random random = new Random(seed * 1_000_003L + client);
    final Map<Long, ChaosHttp> connections = new TreeMap<>();
    final Map<String, Long> lastSeen = new HashMap<>();
    long counter = 0;
    try {
      while (!stop) {
        final long value = (client + 1L) * 1_000_000_000L + ++counter;
        final int dice = random.nextInt(100);
        final long now = System.nanoTime();
        final String register =
            "r" + ((now - originNanos) / KEY_EPOCH_NANOS) + "-" + random.nextInt(KEYS_PER_EPOCH);
        final History.Op op;
        if (dice < 30) {
          registerKeys.add(register);
          // A third of the reads go to a random node: followers serve linearizable reads too.
          op = execute(client, connections, Kind.GET, register, null, null, dice < 6,
              dice % 3 == 0 ? ids.get(random.nextInt(ids.size())) : 0);
        } else if (dice < 60) {
          registerKeys.add(register);
          op = execute(client, connections, Kind.PUT, register, value, null, false);
        } else if (dice < 85) {
          registerKeys.add(register);
          op = execute(client, connections, Kind.CAS, register, value, lastSeen.get(register), false);
        } else {
          final String once = "u" + client + "-" + counter;
          op = execute(client, connections, Kind.PUT, once, value, null, false);
          if (op.outcome() == Outcome.OK) {
            acknowledgedOnce.put(once, value);
          } else if (op.outcome() == Outcome.UNKNOWN) {
            unknownOnce.add(once);
          }
        }
        history.add(op);
        if (op.outcome() == Outcome.OK) {
          if (op.kind() == Kind.GET) {
            lastSeen.put(op.key(), op.read());
          } else if (op.kind() == Kind.PUT || op.swapped()) {
            lastSeen.put(op.key(), op.value());
          }
        }
      }
    } catch (final RuntimeException | Error e) {
      if (failure == null) {
        failure = e;
      }
      throw e;
    } finally {
      connections.values().forEach(ChaosHttp::close);
    }
  }

  /** Runs one operation to a definite or unknown end; see the class comment. */
  History.Op execute(
      final int client, final Map<Long, ChaosHttp> connections, final Kind kind, final String key, final Long value,
      final Long expected, final boolean lease) {
    return execute(client, connections, kind, key, value, expected, lease, 0);
  }

  /** Like the other, sent first to node {@code first} (0: the node believed to lead). */
  History.Op execute(
      final int client, final Map<Long, ChaosHttp> connections, final Kind kind, final String key, final Long value,
      final Long expected, final boolean lease, final long first) {
    final long invoke = System.nanoTime();
    long target = first != 0 ? first : leaderHint;
    String note = "";
    while (true) {
      final String path;
      final String method;
      final String body;
      switch (kind) {
        case GET -> {
          method = "GET";
          path = "/kv/" + key + (lease ? "?consistency=lease" : "");
          body = null;
        }
        case PUT -> {
          method = "PUT";
          path = "/kv/" + key;
          body = "{\"value\":\"" + value + "\"}";
        }
        default -> {
          method = "POST";
          path = "/kv/" + key + "/cas";
          body = "{\"expected\":" + (expected == null ? "null" : "\"" + expected + "\"") + ",\"value\":\"" + value
              + "\"}";
        }
      }
      final ChaosHttp http = connections.computeIfAbsent(target, id -> new ChaosHttp(cluster.node(id).httpAddress()));
      ChaosHttp.Response r = null;
      try {
        r = http.send(method, path, body, REQUEST_TIMEOUT_MILLIS);
      } catch (final ChaosHttp.NotSent e) {
        note = "node " + target + ": " + e.getMessage();
      } catch (final ChaosHttp.MaybeSent e) {
        return end(client, kind, key, value, expected, lease, invoke,
            kind == Kind.GET ? Outcome.FAIL : Outcome.UNKNOWN, null, false, 0, "node " + target + ": " + e.getMessage());
      }
      if (r != null) {
        final long node = group(NODE, r.body()) == null ? 0 : Long.parseLong(group(NODE, r.body()));
        switch (r.status()) {
          case 200, 404, 409 -> {
            if (r.status() == 404 && kind != Kind.GET || r.status() == 409 && kind != Kind.CAS) {
              return end(client, kind, key, value, expected, lease, invoke, Outcome.UNKNOWN, null, false, node,
                  "unexpected " + r.status() + ": " + r.body());
            }
            if (kind != Kind.GET) {
              leaderHint = target; // a follower answers reads too
            }
            Long read = null;
            if (kind == Kind.GET && r.status() == 200) {
              final Matcher m = VALUE.matcher(r.body());
              if (!m.find() || m.group(2) == null) {
                throw new IllegalStateException("a 200 read without a value: " + r.body());
              }
              read = Long.parseLong(m.group(2));
            }
            return end(client, kind, key, value, expected, lease, invoke, Outcome.OK, read,
                kind == Kind.CAS && r.status() == 200, node, "");
          }
          case 307 -> {
            final Long next = r.location() == null ? null : httpToId.get(hostPort(r.location()));
            note = "307 from " + target + " to " + r.location();
            if (next != null) {
              target = next;
              leaderHint = next;
              continue; // nothing was proposed: go to the leader at once
            }
          }
          case 503 -> {
            // No leader known (NotLeader), a lease that ran out, or a node closing: nothing was done,
            // except for a write failed by shutdown, which a later leader may still commit.
            note = "503 from " + target + ": " + r.body().trim();
            if (kind != Kind.GET && !r.body().contains("not the leader")) {
              return end(client, kind, key, value, expected, lease, invoke, Outcome.UNKNOWN, null, false, node, note);
            }
          }
          default -> {
            // 504 (not applied in time) and 500: the outcome is unknown. 4xx: a client bug.
            if (r.status() >= 400 && r.status() < 500) {
              throw new IllegalStateException("refused request " + method + " " + path + " " + body + ": "
                  + r.status() + " " + r.body());
            }
            return end(client, kind, key, value, expected, lease, invoke,
                kind == Kind.GET ? Outcome.FAIL : Outcome.UNKNOWN, null, false, node,
                r.status() + " from " + target + ": " + r.body().trim());
          }
        }
      }
      if (System.nanoTime() - invoke > OP_DEADLINE_NANOS || stop) {
        return end(client, kind, key, value, expected, lease, invoke, Outcome.FAIL, null, false, 0, note);
      }
      target = ids.get((ids.indexOf(target) + 1) % ids.size());
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // pacing retries while there is no leader
    }
  }

  private static History.Op end(
      final int client, final Kind kind, final String key, final Long value, final Long expected, final boolean lease,
      final long invoke, final Outcome outcome, final Long read, final boolean swapped, final long node,
      final String note) {
    return new History.Op(client, kind, key, value, expected, lease, invoke, System.nanoTime(), outcome, read,
        swapped, node, note);
  }

  private static String hostPort(final String location) {
    final String rest = location.substring(location.indexOf("//") + 2);
    final int slash = rest.indexOf('/');
    return slash < 0 ? rest : rest.substring(0, slash);
  }

  private static String group(final Pattern p, final String body) {
    final Matcher m = p.matcher(body);
    return m.find() ? m.group(1) : null;
  }
}
