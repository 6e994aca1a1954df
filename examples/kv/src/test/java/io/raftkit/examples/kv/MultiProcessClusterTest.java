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
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
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
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  private static final int KEYS = 100;
  private static final Pattern STATE = Pattern.compile("\"state\":\"([A-Z]+)\",\"current_term\":(\\d+)");

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
    cluster.start(first.id(), false);
    awaitLocal(first, "/kv/after-kill?consistency=local", r -> r.statusCode() == 200, deadline);
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

  /** Polls the metrics of {@code peers} until one leads a term above {@code aboveTerm}. */
  private Peer awaitLeader(final Map<Long, Peer> peers, final long aboveTerm, final long deadline) throws Exception {
    while (true) {
      for (final Peer p : peers.values()) {
        final Process process = cluster.process(p.id());
        if (process != null && !process.isAlive()) {
          fail("node %d exited with %d:%n%s", p.id(), process.exitValue(), Files.readString(cluster.log(p.id())));
        }
        final HttpResponse<String> r = tryGet(p, "/admin/metrics");
        if (r != null && r.statusCode() == 200) {
          final Matcher m = STATE.matcher(r.body());
          if (m.find() && m.group(1).equals("LEADER") && Long.parseLong(m.group(2)) > aboveTerm) {
            return p;
          }
        }
      }
      pause(deadline, "a leader above term " + aboveTerm + " among " + peers.keySet());
    }
  }

  private long term(final Peer p) throws Exception {
    final Matcher m = STATE.matcher(tryGet(p, "/admin/metrics").body());
    assertThat(m.find()).isTrue();
    return Long.parseLong(m.group(2));
  }

  private void awaitLocal(
      final Peer p, final String path, final Predicate<HttpResponse<String>> ok, final long deadline)
      throws Exception {
    while (true) {
      final HttpResponse<String> r = tryGet(p, path);
      if (r != null && ok.test(r)) {
        return;
      }
      pause(deadline, "node " + p.id() + " to answer " + path);
    }
  }

  /** Sends a request, following 307 redirects and retrying 503 (no leader yet) until the deadline. */
  private HttpResponse<String> request(
      final String method, final Peer to, final String path, final String body, final long deadline)
      throws Exception {
    URI uri = URI.create("http://" + to.httpAddress() + path);
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
      }
      pause(deadline, method + " " + path + " (last answer " + r.statusCode() + " " + r.body() + ")");
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

  /** The poll interval of a loop bounded by {@code deadline}; fails the test past it. */
  private void pause(final long deadline, final String waitingFor) throws IOException {
    if (System.nanoTime() - deadline > 0) {
      final StringBuilder logs = new StringBuilder();
      for (final long id : cluster.peers().keySet()) {
        if (Files.exists(cluster.log(id))) {
          logs.append("--- node ").append(id).append(" ---\n").append(Files.readString(cluster.log(id)));
        }
      }
      fail("gave up after %d s waiting for %s%n%s", DEADLINE_SECONDS, waitingFor, logs);
    }
    LockSupport.parkNanos(POLL_NANOS);
  }
}
