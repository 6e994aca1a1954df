package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three {@code serve} processes (separate JVMs, netty + file) driven over HTTP: writes through the
 * leader and through a follower's redirect, {@code kill -9} of the leader, a new leader, every key
 * read back, and the killed node restarted from its data directory catching up.
 */
class MultiProcessClusterTest {

  private static final long DEADLINE_SECONDS = 45;
  private static final int KEYS = 100;
  private static final Pattern STATE = Pattern.compile("\"state\":\"([A-Z]+)\",\"current_term\":(\\d+)");
  private static final Pattern LEADER = Pattern.compile("\"current_leader\":(\\d+)");
  private static final Pattern INDEX = Pattern.compile("\"log_index\":(\\d+)");

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private ClusterProcesses cluster;

  @TempDir Path dir;

  @AfterEach
  void stopProcesses() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void shouldKeepEveryAcknowledgedWriteWhenTheLeaderIsKilled() throws Exception {
    final List<Integer> ports = FreePorts.pick(6);
    final Map<Long, Peer> peers = new TreeMap<>();
    for (int i = 0; i < 3; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(3 + i)));
    }
    cluster = new ClusterProcesses(ClusterProcesses.classPathLauncher(), peers, dir, "file", "netty");
    for (final long id : peers.keySet()) {
      cluster.start(id, id == 1);
    }
    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);

    final Peer first = awaitLeader(peers, 0, deadline);
    final long firstTerm = term(first);
    for (int i = 0; i < KEYS; i++) {
      final Peer target = i % 10 == 0 ? other(peers, first) : first; // every 10th through a follower
      final HttpResponse<String> r = request("PUT", target, "/kv/k" + i, "{\"value\":\"v" + i + "\"}", deadline);
      assertThat(r.statusCode()).as("PUT k%d: %s", i, r.body()).isEqualTo(200);
    }

    cluster.kill(first.id());
    final Peer second = awaitLeader(withoutNode(peers, first.id()), firstTerm, deadline);
    assertThat(second.id()).isNotEqualTo(first.id());
    for (int i = 0; i < KEYS; i++) {
      final HttpResponse<String> r = request("GET", second, "/kv/k" + i, null, deadline);
      assertThat(r.statusCode()).as("GET k%d: %s", i, r.body()).isEqualTo(200);
      assertThat(r.body()).contains("\"value\":\"v" + i + "\"", "\"consistency\":\"linearizable\"");
    }
    final HttpResponse<String> after = request("PUT", second, "/kv/after-kill", "{\"value\":\"yes\"}", deadline);
    assertThat(after.statusCode()).as(after.body()).isEqualTo(200);

    // The killed node restarts from its data directory and catches up.
    final Matcher at = INDEX.matcher(after.body());
    assertThat(at.find()).as("log_index in %s", after.body()).isTrue();
    cluster.start(first.id(), false);
    awaitMetrics(first, "applied_at_least=" + at.group(1), deadline);
    final HttpResponse<String> caughtUp = request("GET", first, "/kv/after-kill?consistency=local", null, deadline);
    assertThat(caughtUp.body()).contains("\"value\":\"yes\"", "\"stale_possible\":true");
    for (int i = 0; i < KEYS; i += 7) {
      final HttpResponse<String> r = request("GET", first, "/kv/k" + i + "?consistency=local", null, deadline);
      assertThat(r.body()).contains("\"value\":\"v" + i + "\"", "\"stale_possible\":true");
    }
  }

  private static Map<Long, Peer> withoutNode(final Map<Long, Peer> peers, final long id) {
    final Map<Long, Peer> rest = new TreeMap<>(peers);
    rest.remove(id);
    return rest;
  }

  private static Peer other(final Map<Long, Peer> peers, final Peer not) {
    return peers.values().stream().filter(p -> p.id() != not.id()).findFirst().orElseThrow();
  }

  /**
   * Asks one of {@code peers} (a long poll, no polling here) for a leader of a term above {@code
   * aboveTerm} that has committed an entry of its term, and returns that leader.
   */
  private Peer awaitLeader(final Map<Long, Peer> peers, final long aboveTerm, final long deadline) throws Exception {
    final Peer asked = peers.values().iterator().next();
    final Matcher m = LEADER.matcher(awaitMetrics(asked, "leader_above_term=" + aboveTerm, deadline));
    assertThat(m.find()).as("current_leader in the metrics of node %d", asked.id()).isTrue();
    final Peer leader = peers.get(Long.parseLong(m.group(1)));
    assertThat(leader).as("node %d names leader %s, one of %s", asked.id(), m.group(1), peers.keySet()).isNotNull();
    return leader;
  }

  /**
   * Waits until node {@code p} serves, then for its metrics to meet {@code condition} (the query of
   * {@code GET /admin/metrics}, answered once it holds); returns them. Fails the test past {@code
   * deadline}, with the nodes' logs.
   */
  private String awaitMetrics(final Peer p, final String condition, final long deadline) throws Exception {
    final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    if (leftMs <= 0) {
      failWithLogs("node " + p.id() + " to meet " + condition);
    }
    try {
      cluster.awaitServing(p.id(), Duration.ofMillis(leftMs));
    } catch (final IOException | TimeoutException e) {
      failWithLogs("node " + p.id() + " to serve (" + e.getMessage() + ")");
    }
    final long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    final HttpResponse<String> r = client.send(
        HttpRequest.newBuilder(URI.create("http://" + p.httpAddress() + "/admin/metrics?" + condition + "&wait_ms="
            + waitMs)).timeout(Duration.ofMillis(waitMs + 5_000)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      failWithLogs("node " + p.id() + " to meet " + condition + " (answered " + r.statusCode() + " " + r.body() + ")");
    }
    return r.body();
  }

  private long term(final Peer p) throws Exception {
    final Matcher m = STATE.matcher(tryGet(p, "/admin/metrics").body());
    assertThat(m.find()).isTrue();
    return Long.parseLong(m.group(2));
  }

  /** Sends a request, following 307 redirects; after a 503 (no ready leader) awaits one and retries. */
  private HttpResponse<String> request(
      final String method, final Peer to, final String path, final String body, final long deadline)
      throws Exception {
    URI uri = URI.create("http://" + to.httpAddress() + path);
    int unavailable = 0;
    while (true) {
      final HttpResponse<String> r = client.send(
          HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
              .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                  : HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() == 307) {
        uri = URI.create(r.headers().firstValue("location").orElseThrow());
      } else if (r.statusCode() != 503) {
        return r;
      } else if (++unavailable > 3) {
        failWithLogs(method + " " + path + " (answered 503 " + unavailable + " times, last " + r.body() + ")");
      } else {
        // No ready leader as this node sees it: wait (long poll) until it knows one, then retry.
        awaitMetrics(to, "leader_above_term=0", deadline);
      }
    }
  }

  private HttpResponse<String> tryGet(final Peer p, final String path) throws InterruptedException {
    try {
      return client.send(
          HttpRequest.newBuilder(URI.create("http://" + p.httpAddress() + path)).timeout(Duration.ofSeconds(2))
              .GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (final IOException e) {
      return null; // not listening (yet, or any more)
    }
  }

  /** Fails the test: it gave up waiting for {@code waitingFor}; the nodes' logs follow. */
  private void failWithLogs(final String waitingFor) throws IOException {
    final StringBuilder logs = new StringBuilder();
    for (final long id : cluster.peers().keySet()) {
      if (Files.exists(cluster.log(id))) {
        logs.append("--- node ").append(id).append(" ---\n").append(Files.readString(cluster.log(id)));
      }
    }
    fail("gave up (deadline %d s) waiting for %s%n%s", DEADLINE_SECONDS, waitingFor, logs);
  }
}
