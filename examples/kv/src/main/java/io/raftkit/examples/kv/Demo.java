package io.raftkit.examples.kv;

import io.raftkit.api.LogId;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.error.NotLeaderException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@code demo} command: a 3-node cluster in this process on loopback, each node a full {@link
 * KvNode} (Raft over the chosen transport, durable storage in a temporary directory, HTTP API).
 * It elects a leader, writes keys, stops the leader, waits for the new one, reads every key back
 * with a ReadIndex read and checks the survivors' copies, prints each node's metrics, and cleans up.
 */
final class Demo {

  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(20);
  private static final int WINDOW = 64;

  private final Cli.Demo options;
  private final PrintStream out;
  private final long startNanos = System.nanoTime();

  Demo(final Cli.Demo options, final PrintStream out) {
    this.options = options;
    this.out = out;
  }

  /**
   * Runs the demo.
   *
   * @throws Exception if a step fails or times out; the message says which
   */
  void run() throws Exception {
    final Path dir = Files.createTempDirectory("raft-kv-demo-");
    final List<KvNode> nodes = new ArrayList<>();
    try {
      run(dir, nodes);
    } finally {
      for (final KvNode node : nodes) {
        node.close();
      }
      Dirs.deleteRecursively(dir);
      say("stopped every node and deleted %s", dir);
    }
  }

  private void run(final Path dir, final List<KvNode> nodes) throws Exception {
    final List<Integer> ports = FreePorts.pick(6);
    final Map<Long, Peer> peers = new TreeMap<>();
    for (int i = 0; i < 3; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(3 + i)));
    }
    say("starting 3 nodes: transport=%s storage=%s data=%s", options.transport(), options.storage(), dir);
    for (final Peer p : peers.values()) {
      final Path data = options.storage().equals("memory") ? null : dir.resolve("node-" + p.id());
      nodes.add(KvNode.start(KvNode.Settings.of(p.id(), options.transport(), options.storage(), data, peers)));
      say("  node %d: raft=%s http=http://%s", p.id(), p.raftAddress(), p.httpAddress());
    }

    final long initAt = System.nanoTime();
    nodes.get(0).initialize().get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    final KvNode leader = awaitLeader(nodes, 0);
    say("leader elected: node %d in %d ms (term %d)",
        leader.id(), millisSince(initAt), leader.raft().metrics().currentTerm());

    final int n = options.writes();
    final long writeAt = System.nanoTime();
    final long lastIndex = writeAll(nodes, leader, n);
    final long writeNanos = System.nanoTime() - writeAt;
    say("%d writes committed and applied in %d ms: %.0f writes/s (%d in flight, every entry synced to disk "
        + "on a majority before it is acknowledged)",
        n, writeNanos / 1_000_000, n * 1e9 / writeNanos, WINDOW);

    final boolean greeting = showRedirect(nodes, leader);

    final long committed = Math.max(lastIndex, leader.raft().metrics().committed().index());
    for (final KvNode node : nodes) {
      node.raft().awaitMetrics(m -> m.lastApplied().index() >= committed, STEP_TIMEOUT)
          .get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    say("every node applied up to index %d", committed);

    final long oldTerm = leader.raft().metrics().currentTerm();
    final long killAt = System.nanoTime();
    leader.close();
    nodes.remove(leader);
    say("killed the leader, node %d (its Raft node and HTTP server are closed)", leader.id());
    final KvNode newLeader = awaitLeader(nodes, oldTerm);
    say("new leader: node %d, elected %d ms after the old one stopped (term %d)",
        newLeader.id(), millisSince(killAt), newLeader.raft().metrics().currentTerm());

    final long readAt = System.nanoTime();
    final long readIndex = readBackLinearizable(newLeader, n);
    say("read all %d keys back linearizably (ReadIndex, read index %d) on node %d in %d ms: every value intact",
        n, readIndex, newLeader.id(), millisSince(readAt));
    for (final KvNode node : nodes) {
      node.raft().awaitMetrics(m -> m.lastApplied().index() >= readIndex, STEP_TIMEOUT)
          .get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      final Map<String, String> local = node.stateMachine().copy();
      final Map<String, String> expected = expected(n, greeting);
      if (!local.equals(expected)) {
        throw new IllegalStateException("node " + node.id() + " local copy differs: keys=" + local.size()
            + " expected=" + expected.size());
      }
      say("node %d's local copy holds the same %d keys", node.id(), local.size());
    }
    showLocalRead(nodes, newLeader);

    say("metrics:");
    say("  node %d: stopped (the old leader)", leader.id());
    for (final KvNode node : nodes) {
      final RaftMetrics m = node.raft().metrics();
      say("  node %d: %s term=%d leader=%d last=%s committed=%s applied=%s keys=%d%s",
          node.id(), m.state(), m.currentTerm(), m.currentLeader(), m.lastLogId(), m.committed(),
          m.lastApplied(), node.stateMachine().size(),
          m.replication().isEmpty() ? "" : " replication=" + m.replication());
    }
    say("demo finished in %d ms", millisSince(startNanos));
  }

  /** Waits until one of {@code nodes} leads a term above {@code aboveTerm}. */
  private static KvNode awaitLeader(final List<KvNode> nodes, final long aboveTerm) throws Exception {
    final List<CompletableFuture<RaftMetrics>> waits = new ArrayList<>();
    for (final KvNode node : nodes) {
      waits.add(node.raft().awaitMetrics(m -> m.isLeader() && m.currentTerm() > aboveTerm, STEP_TIMEOUT));
    }
    try {
      final RaftMetrics m = (RaftMetrics) CompletableFuture.anyOf(waits.toArray(new CompletableFuture<?>[0]))
          .get(STEP_TIMEOUT.toSeconds() + 1, TimeUnit.SECONDS);
      for (final KvNode node : nodes) {
        if (node.id() == m.nodeId()) {
          return node;
        }
      }
      throw new IllegalStateException("leader " + m.nodeId() + " is not one of the nodes");
    } finally {
      waits.forEach(w -> w.cancel(false));
    }
  }

  /**
   * Puts key-i = value-i for every i, {@link #WINDOW} at a time; a write refused because
   * leadership moved is retried on the new leader. Returns the last log index.
   */
  private static long writeAll(final List<KvNode> nodes, final KvNode leader, final int n) throws Exception {
    final Semaphore window = new Semaphore(WINDOW);
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final List<Integer> refused = java.util.Collections.synchronizedList(new ArrayList<>());
    final long[] last = new long[1];
    for (int i = 0; i < n && failure.get() == null; i++) {
      if (!window.tryAcquire(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        throw new TimeoutException("write " + i + " waited " + STEP_TIMEOUT + " for a window slot");
      }
      final int index = i;
      leader.raft().write(KvCommand.put(key(i), value(i)).encode()).whenComplete((r, e) -> {
        if (e instanceof NotLeaderException || (e != null && e.getCause() instanceof NotLeaderException)) {
          refused.add(index);
        } else if (e != null) {
          failure.compareAndSet(null, e);
        } else {
          synchronized (last) {
            last[0] = Math.max(last[0], r.logId().index());
          }
        }
        window.release();
      });
    }
    if (!window.tryAcquire(WINDOW, STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      throw new TimeoutException("writes did not finish within " + STEP_TIMEOUT);
    }
    if (failure.get() != null) {
      throw new ExecutionException("a write failed", failure.get());
    }
    long lastIndex;
    synchronized (last) {
      lastIndex = last[0];
    }
    for (final int i : refused) {
      // Bounded: each key gets a few tries, each on the leader of the moment.
      for (int attempt = 1; ; attempt++) {
        try {
          final KvNode current = awaitLeader(nodes, 0);
          lastIndex = Math.max(lastIndex, current.raft().write(KvCommand.put(key(i), value(i)).encode())
              .get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS).logId().index());
          break;
        } catch (final ExecutionException e) {
          if (!(e.getCause() instanceof NotLeaderException) || attempt == 5) {
            throw e;
          }
        }
      }
    }
    return lastIndex;
  }

  /**
   * Confirms the leadership of {@code leader} with one ReadIndex round, then reads every key from
   * its state machine (which has applied the read index) and checks it; returns the read index.
   */
  private static long readBackLinearizable(final KvNode leader, final int n) throws Exception {
    final LogId readIndex = leader.raft().ensureLinearizable(ReadPolicy.READ_INDEX)
        .get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    for (int i = 0; i < n; i++) {
      final String value = leader.stateMachine().get(key(i));
      if (!value(i).equals(value)) {
        throw new IllegalStateException("key=" + key(i) + " read " + value + ", expected " + value(i));
      }
    }
    return readIndex.index();
  }

  /** Shows a PUT sent to a follower: 307 to the leader, then done there; says whether it was written. */
  private boolean showRedirect(final List<KvNode> nodes, final KvNode leader) throws IOException, InterruptedException {
    final KvNode follower = nodes.stream().filter(x -> x != leader).findFirst().orElseThrow();
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final String body = "{\"value\":\"written over HTTP\"}";
    final HttpResponse<String> redirect = client.send(
        HttpRequest.newBuilder(URI.create("http://" + follower.httpAddress() + "/kv/greeting"))
            .timeout(STEP_TIMEOUT).PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    final String location = redirect.headers().firstValue("location").orElse("(none)");
    say("HTTP PUT /kv/greeting to follower node %d -> %d, Location: %s", follower.id(), redirect.statusCode(), location);
    if (redirect.statusCode() == 307) {
      final HttpResponse<String> done = client.send(
          HttpRequest.newBuilder(URI.create(location)).timeout(STEP_TIMEOUT)
              .PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      say("  retried at the leader -> %d %s", done.statusCode(), done.body().strip());
      return done.statusCode() == 200;
    }
    return false;
  }

  /** Shows a local (possibly stale) read over HTTP. */
  private void showLocalRead(final List<KvNode> nodes, final KvNode leader) throws IOException, InterruptedException {
    final KvNode follower = nodes.stream().filter(x -> x != leader).findFirst().orElse(leader);
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final HttpResponse<String> r = client.send(
        HttpRequest.newBuilder(URI.create("http://" + follower.httpAddress() + "/kv/" + key(0) + "?consistency=local"))
            .timeout(STEP_TIMEOUT).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    say("HTTP GET /kv/%s?consistency=local on node %d -> %d %s", key(0), follower.id(), r.statusCode(), r.body().strip());
  }

  private static Map<String, String> expected(final int n, final boolean greeting) {
    final Map<String, String> m = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      m.put(key(i), value(i));
    }
    if (greeting) {
      m.put("greeting", "written over HTTP");
    }
    return m;
  }

  static String key(final int i) {
    return String.format("key-%06d", i);
  }

  static String value(final int i) {
    return "value-" + i + "-" + Integer.toHexString(i * 0x9E3779B1);
  }

  private static long millisSince(final long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  private void say(final String format, final Object... args) {
    out.printf("[%6.2fs] %s%n", (System.nanoTime() - startNanos) / 1e9, String.format(format, args));
    out.flush();
  }
}
