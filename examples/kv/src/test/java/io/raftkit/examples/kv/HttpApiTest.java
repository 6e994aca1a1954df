package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.RaftMetrics;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The HTTP API of real nodes: a 3-node cluster in this JVM (netty transport, memory storage). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpApiTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  private final List<KvNode> nodes = new ArrayList<>();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private KvNode leader;

  @BeforeAll
  void startCluster() throws Exception {
    final List<Integer> ports = FreePorts.pick(6);
    final Map<Long, Peer> peers = new TreeMap<>();
    for (int i = 0; i < 3; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(3 + i)));
    }
    for (final Peer p : peers.values()) {
      nodes.add(KvNode.start(KvNode.Settings.of(p.id(), "netty", "memory", null, peers)));
    }
    final HttpResponse<String> init = send("POST", nodes.get(0), "/admin/init", null);
    assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
    assertThat(init.body()).contains("\"initialized\":true");
    final List<CompletableFuture<RaftMetrics>> waits = new ArrayList<>();
    for (final KvNode n : nodes) {
      waits.add(n.raft().awaitMetrics(RaftMetrics::isLeader, TIMEOUT));
    }
    final RaftMetrics m = (RaftMetrics) CompletableFuture.anyOf(waits.toArray(new CompletableFuture<?>[0]))
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    leader = nodes.stream().filter(n -> n.id() == m.nodeId()).findFirst().orElseThrow();
    // Every follower knows the leader once the leader's first entry of its term is applied there.
    final long index = leader.raft().metrics().lastLogId().index();
    for (final KvNode n : nodes) {
      n.raft().awaitMetrics(x -> x.currentLeader() == leader.id() && x.lastApplied().index() >= index, TIMEOUT)
          .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  @AfterAll
  void stopCluster() {
    nodes.forEach(KvNode::close);
  }

  private KvNode follower() {
    return nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
  }

  private HttpResponse<String> send(final String method, final KvNode node, final String path, final Object body)
      throws Exception {
    final HttpRequest.BodyPublisher publisher =
        body == null ? HttpRequest.BodyPublishers.noBody()
            : body instanceof byte[] b ? HttpRequest.BodyPublishers.ofByteArray(b)
            : HttpRequest.BodyPublishers.ofString((String) body);
    return client.send(
        HttpRequest.newBuilder(URI.create("http://" + node.httpAddress() + path))
            .timeout(TIMEOUT).method(method, publisher).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldPutGetCompareAndSetAndDelete() throws Exception {
    HttpResponse<String> r = send("PUT", leader, "/kv/color", "{\"value\":\"red\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
    assertThat(r.body()).contains("\"key\":\"color\"", "\"value\":\"red\"", "\"previous\":null");

    r = send("GET", leader, "/kv/color", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"value\":\"red\"", "\"consistency\":\"linearizable\"");

    r = send("POST", leader, "/kv/color/cas", "{\"expected\":\"blue\",\"value\":\"green\"}");
    assertThat(r.statusCode()).isEqualTo(409);
    assertThat(r.body()).contains("\"error\":", "\"swapped\":false", "\"value\":\"red\"");

    r = send("POST", leader, "/kv/color/cas", "{\"expected\":\"red\",\"value\":\"green\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"swapped\":true", "\"value\":\"green\"");

    r = send("POST", leader, "/kv/fresh/cas", "{\"expected\":null,\"value\":\"first\"}");
    assertThat(r.statusCode()).isEqualTo(200);

    r = send("DELETE", leader, "/kv/color", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"deleted\":true", "\"previous\":\"green\"");

    r = send("GET", leader, "/kv/color?consistency=linearizable", null);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).contains("\"error\":\"key not found\"");
  }

  @Test
  void shouldBuildASnapshotOnRequestWhichHoldsTheMapAndRestoresIt() throws Exception {
    assertThat(send("PUT", leader, "/kv/snap-key", "{\"value\":\"kept\"}").statusCode()).isEqualTo(200);
    final long applied = leader.stateMachine().lastApplied().index();

    final HttpResponse<String> r = send("POST", leader, "/admin/snapshot", null);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    final java.util.regex.Matcher index =
        java.util.regex.Pattern.compile("\"last_log_id\":\\{[^}]*\"index\":(\\d+)").matcher(r.body());
    assertThat(index.find()).as(r.body()).isTrue();
    assertThat(Long.parseLong(index.group(1))).isGreaterThanOrEqualTo(applied);
    assertThat(leader.raft().metrics().snapshot().index()).isGreaterThanOrEqualTo(applied);
    // What the snapshot holds restores an equal map into a fresh state machine.
    final KvStateMachine fresh = new KvStateMachine();
    final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    final KvStateMachine source = leader.stateMachine();
    final io.raftkit.api.LogId at;
    final java.util.Map<String, String> expected;
    synchronized (source) {
      at = source.lastApplied();
      expected = source.copy();
      source.snapshot().writeTo(bytes);
    }
    fresh.restore(new io.raftkit.api.SnapshotMeta(at, io.raftkit.api.StoredMembership.EMPTY, "t"),
        new java.io.ByteArrayInputStream(bytes.toByteArray()));
    assertThat(fresh.copy()).isEqualTo(expected).containsEntry("snap-key", "kept");
    assertThat(fresh.lastApplied()).isEqualTo(at);
  }

  @Test
  void shouldEncodeKeysAsOnePathSegment() throws Exception {
    final HttpResponse<String> put = send("PUT", leader, "/kv/a%2Fb%20c%F0%9F%98%80+", "{\"value\":\"x\\u00e9\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    assertThat(put.body()).contains("\"key\":\"a/b c😀+\"");
    assertThat(leader.stateMachine().get("a/b c😀+")).isEqualTo("xé");
  }

  @Test
  void shouldReadLocallySayingItMayBeStale() throws Exception {
    final HttpResponse<String> put = send("PUT", leader, "/kv/local", "{\"value\":\"v\"}");
    assertThat(put.statusCode()).isEqualTo(200);
    final KvNode follower = follower();
    final long index = leader.raft().metrics().committed().index();
    follower.raft().awaitMetrics(m -> m.lastApplied().index() >= index, TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    final HttpResponse<String> r = send("GET", follower, "/kv/local?consistency=local", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"value\":\"v\"", "\"consistency\":\"local\"", "\"stale_possible\":true",
        "\"node\":" + follower.id());
    final HttpResponse<String> missing = send("GET", follower, "/kv/never-written?consistency=local", null);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).contains("\"stale_possible\":true");
  }

  @Test
  void shouldServeLinearizableAndLeaseReadsOnAFollowerWithAReadIndexFromTheLeader() throws Exception {
    final HttpResponse<String> put = send("PUT", leader, "/kv/fr", "{\"value\":\"seen\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    final KvNode follower = follower();
    for (final String path : new String[] {"/kv/fr", "/kv/fr?consistency=linearizable", "/kv/fr?consistency=lease"}) {
      final LogId before = leader.raft().metrics().lastLogId();

      final HttpResponse<String> r = send("GET", follower, path, null);

      // Acknowledged before the read, so the follower's answer must show it.
      assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
      assertThat(r.body()).contains("\"value\":\"seen\"", "\"node\":" + follower.id());
      assertThat(leader.raft().metrics().lastLogId()).as("nothing proposed").isEqualTo(before);
    }
  }

  @Test
  void shouldRedirectWritesAndAdminChangesFromAFollowerToTheLeader() throws Exception {
    final KvNode follower = follower();
    // Earlier tests' entries may still be on their way to this follower: let it catch up first, so
    // that a change of its log can only come from the request under test.
    final LogId leaderLast = leader.raft().metrics().lastLogId();
    follower.raft().awaitMetrics(m -> m.lastLogId().equals(leaderLast), TIMEOUT)
        .get(TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    for (final String[] req : new String[][] {
        {"PUT", "/kv/r", "{\"value\":\"v\"}"}, {"DELETE", "/kv/r", null},
        {"POST", "/kv/r/cas", "{\"expected\":null,\"value\":\"v\"}"},
        {"POST", "/admin/membership", "{\"op\":\"remove_voters\",\"ids\":[" + leader.id() + "]}"},
        {"POST", "/admin/learners", "{\"id\":9,\"raft\":\"127.0.0.1:1\",\"http\":\"127.0.0.1:2\"}"}}) {
      final LogId before = leader.raft().metrics().lastLogId();
      final HttpResponse<String> r = send(req[0], follower, req[1], req[2]);
      assertThat(r.statusCode()).as("%s %s: %s", req[0], req[1], r.body()).isEqualTo(307);
      assertThat(r.headers().firstValue("location")).hasValue("http://" + leader.httpAddress() + req[1]);
      assertThat(r.body()).contains("\"leader_id\":" + leader.id(), "\"leader_http\":\"" + leader.httpAddress() + "\"");
      assertThat(leader.raft().metrics().lastLogId()).as("nothing proposed").isEqualTo(before);
      assertThat(follower.raft().metrics().lastLogId()).isEqualTo(before);
    }
    assertThat(leader.stateMachine().get("r")).isNull();
    assertThat(leader.raft().metrics().membership().membership().nodes()).containsOnlyKeys(1L, 2L, 3L);
  }

  @Test
  void shouldReadTheWrittenValueLinearizablyAndWithALeaseWithoutWritingTheLog() throws Exception {
    final HttpResponse<String> put = send("PUT", leader, "/kv/confirmed", "{\"value\":\"seen\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    final long written = jsonLong(put.body(), "log_index");
    final LogId before = leader.raft().metrics().lastLogId();

    final HttpResponse<String> linearizable = send("GET", leader, "/kv/confirmed?consistency=linearizable", null);
    assertThat(linearizable.statusCode()).as(linearizable.body()).isEqualTo(200);
    assertThat(linearizable.body()).contains("\"value\":\"seen\"", "\"consistency\":\"linearizable\"",
        "\"node\":" + leader.id());
    assertThat(jsonLong(linearizable.body(), "read_index")).isGreaterThanOrEqualTo(written);

    final HttpResponse<String> lease = leaseRead(leader, "/kv/confirmed?consistency=lease");
    assertThat(lease.statusCode()).as(lease.body()).isEqualTo(200);
    assertThat(lease.body()).contains("\"value\":\"seen\"", "\"consistency\":\"lease\"");
    assertThat(jsonLong(lease.body(), "read_index")).isGreaterThanOrEqualTo(written);

    final HttpResponse<String> missing = leaseRead(leader, "/kv/never-written?consistency=lease");
    assertThat(missing.statusCode()).as(missing.body()).isEqualTo(404);
    assertThat(missing.body()).contains("\"error\":\"key not found\"", "\"consistency\":\"lease\"");
    assertThat(send("GET", leader, "/kv/never-written", null).statusCode()).isEqualTo(404);

    assertThat(leader.raft().metrics().lastLogId()).as("reads append nothing").isEqualTo(before);
  }

  /**
   * A lease read; while the leader answers 503 (its lease not established or just lapsed on a busy
   * machine), forces a heartbeat round and waits for a quorum to acknowledge it, then retries.
   */
  private HttpResponse<String> leaseRead(final KvNode node, final String path) throws Exception {
    final long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      final HttpResponse<String> r = send("GET", node, path, null);
      if (r.statusCode() != 503 || System.nanoTime() - deadline > 0) {
        return r;
      }
      assertThat(r.body()).contains("lease expired", "consistency=linearizable");
      assertThat(r.headers().firstValue("retry-after")).hasValue("1");
      final long acked = node.raft().metrics().quorumAckNanos();
      node.raft().trigger().heartbeat().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      node.raft().awaitMetrics(m -> m.quorumAckNanos() != acked, TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /** An integer member of a flat JSON answer. */
  private static long jsonLong(final String body, final String member) throws Exception {
    final Object v = Json.parseObject(body.strip().getBytes(StandardCharsets.UTF_8)).get(member);
    assertThat(v).as("%s in %s", member, body).isInstanceOf(Json.JsonNumber.class);
    return Long.parseLong(((Json.JsonNumber) v).literal());
  }

  @Test
  void shouldServeMetricsAndRefuseASecondInit() throws Exception {
    final HttpResponse<String> m = send("GET", leader, "/admin/metrics", null);
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(m.body()).contains("\"node_id\":" + leader.id(), "\"state\":\"LEADER\"", "\"replication\":{",
        "\"voter_sets\":[[1,2,3]]", "\"fatal_error\":null");
    final HttpResponse<String> init = send("POST", follower(), "/admin/init", null);
    assertThat(init.statusCode()).isEqualTo(409);
    assertThat(init.body()).contains("\"error\":");
  }

  @Test
  void shouldAnswerAMetricsLongPollOnceTheConditionHoldsAndTimeOutOtherwise() throws Exception {
    final HttpResponse<String> ready = send("GET", follower(), "/admin/metrics?leader_above_term=0", null);
    assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
    assertThat(ready.body()).contains("\"current_leader\":" + leader.id());

    final long next = leader.raft().metrics().lastLogId().index() + 1;
    final java.util.concurrent.CompletableFuture<HttpResponse<String>> poll = client.sendAsync(
        HttpRequest.newBuilder(URI.create("http://" + follower().httpAddress()
            + "/admin/metrics?applied_at_least=" + next + "&wait_ms=30000")).timeout(TIMEOUT).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    // Index `next` does not exist before this PUT, so the poll cannot have been answered yet.
    assertThat(poll).isNotDone();
    final HttpResponse<String> put = send("PUT", leader, "/kv/long-poll", "{\"value\":\"v\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    final HttpResponse<String> answered = poll.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
    final java.util.regex.Matcher applied =
        java.util.regex.Pattern.compile("\"last_applied\":\\{\"term\":\\d+,\"index\":(\\d+)\\}").matcher(answered.body());
    assertThat(applied.find()).as(answered.body()).isTrue();
    assertThat(Long.parseLong(applied.group(1))).isGreaterThanOrEqualTo(next);

    final HttpResponse<String> late =
        send("GET", follower(), "/admin/metrics?applied_at_least=" + Long.MAX_VALUE + "&wait_ms=20", null);
    assertThat(late.statusCode()).as(late.body()).isEqualTo(504);
    assertThat(late.body()).contains("within wait_ms=20", "\"metrics\":{");
  }

  static Stream<Arguments> badRequests() {
    final String big = "{\"value\":\"" + "x".repeat(HttpServer.MAX_BODY_BYTES) + "\"}";
    final byte[] badUtf8 = {'{', '"', 'v', 'a', 'l', 'u', 'e', '"', ':', '"', (byte) 0xFF, '"', '}'};
    return Stream.of(
        Arguments.of("PUT", "/kv/k", "{\"value\":", 400, "malformed JSON"),
        Arguments.of("PUT", "/kv/k", "not json", 400, "malformed JSON"),
        Arguments.of("PUT", "/kv/k", "", 400, "empty"),
        Arguments.of("PUT", "/kv/k", "[\"value\"]", 400, "malformed JSON"),
        Arguments.of("PUT", "/kv/k", "{\"value\":{\"nested\":1}}", 400, "nested"),
        Arguments.of("PUT", "/kv/k", "{\"value\":42}", 400, "must be a JSON string"),
        Arguments.of("PUT", "/kv/k", "{\"value\":null}", 400, "must be a JSON string"),
        Arguments.of("PUT", "/kv/k", "{\"valeu\":\"v\"}", 400, "unknown member"),
        Arguments.of("PUT", "/kv/k", "{\"value\":\"v\",\"ttl\":1}", 400, "unknown member"),
        Arguments.of("PUT", "/kv/k", "{}", 400, "missing member"),
        Arguments.of("PUT", "/kv/k", "{\"value\":\"a\",\"value\":\"b\"}", 400, "duplicate"),
        Arguments.of("PUT", "/kv/k", badUtf8, 400, "UTF-8"),
        Arguments.of("PUT", "/kv/k", big, 413, "maxBodyBytes=1048576"),
        Arguments.of("PUT", "/kv/", "{\"value\":\"v\"}", 400, "key must not be empty"),
        Arguments.of("PUT", "/kv", "{\"value\":\"v\"}", 400, "key must not be empty"),
        Arguments.of("PUT", "/kv/" + "k".repeat(257), "{\"value\":\"v\"}", 400, "keyBytes=257"),
        Arguments.of("PUT", "/kv/a%0Ab", "{\"value\":\"v\"}", 400, "control"),
        Arguments.of("PUT", "/kv/a%7Fb", "{\"value\":\"v\"}", 400, "control"),
        Arguments.of("PUT", "/kv/a%FFb", "{\"value\":\"v\"}", 400, "UTF-8"),
        Arguments.of("PUT", "/kv/k?sync=false", "{\"value\":\"v\"}", 400, "unknown query parameter=sync"),
        Arguments.of("POST", "/kv/k", "{\"value\":\"v\"}", 405, "allowed: GET, PUT, DELETE"),
        Arguments.of("PATCH", "/kv/k", "{\"value\":\"v\"}", 405, "method=PATCH"),
        Arguments.of("PUT", "/kv/k/cas", "{\"expected\":null,\"value\":\"v\"}", 405, "allowed: POST"),
        Arguments.of("POST", "/kv/k/cas", "{\"value\":\"v\"}", 400, "missing member=\\\"expected\\\""),
        Arguments.of("POST", "/kv/k/cas", "{\"expected\":1,\"value\":\"v\"}", 400, "string or null"),
        Arguments.of("POST", "/kv/k/cas", "{\"expected\":null,\"value\":null}", 400, "must be a JSON string"),
        Arguments.of("POST", "/kv/k/swap", "{}", 404, "no such route"),
        Arguments.of("PUT", "/kv/a/b", "{\"value\":\"v\"}", 404, "%2F"),
        Arguments.of("DELETE", "/kv/k", "{\"value\":\"v\"}", 400, "takes no body"),
        Arguments.of("GET", "/kv/k?consistency=eventual", null, 400, "consistency=eventual"),
        Arguments.of("GET", "/kv/k?consistency=local&consistency=local", null, 400, "repeated"),
        Arguments.of("GET", "/kv/k?limit=1", null, 400, "parameter=limit"),
        Arguments.of("GET", "/kv/k?consistency=read_index", null, 400, "must be linearizable, lease or local"),
        Arguments.of("GET", "/nope", null, 404, "no such route: /nope"),
        Arguments.of("GET", "/", null, 404, "no such route"),
        Arguments.of("GET", "/admin/init", null, 405, "allowed: POST"),
        Arguments.of("POST", "/admin/init", "{}", 400, "takes no body"),
        Arguments.of("POST", "/admin/metrics", null, 405, "allowed: GET"),
        Arguments.of("GET", "/admin/metrics?wait_ms=0", null, 400, "wait_ms=\\\"0\\\" must be an integer in [1, 60000]"),
        Arguments.of("GET", "/admin/metrics?wait_ms=60001", null, 400, "wait_ms="),
        Arguments.of("GET", "/admin/metrics?leader_above_term=x", null, 400, "leader_above_term="),
        Arguments.of("GET", "/admin/metrics?applied_at_least=-1", null, 400, "applied_at_least="),
        Arguments.of("GET", "/admin/metrics?applied_at_least=1&applied_at_least=2", null, 400, "repeated"),
        Arguments.of("GET", "/admin/metrics?state=LEADER", null, 400, "unknown query parameter=state"),
        Arguments.of("GET", "/admin/learners", null, 405, "allowed: POST"),
        Arguments.of("POST", "/admin/learners", "{\"id\":4}", 400, "missing member"),
        Arguments.of("POST", "/admin/learners", learner("0", "\"127.0.0.1:1\"", "\"127.0.0.1:2\""), 400, ">= 1"),
        Arguments.of("POST", "/admin/learners", learner("\"4\"", "\"127.0.0.1:1\"", "\"127.0.0.1:2\""), 400, ">= 1"),
        Arguments.of("POST", "/admin/learners", learner("4.5", "\"127.0.0.1:1\"", "\"127.0.0.1:2\""), 400, ">= 1"),
        Arguments.of("POST", "/admin/learners", learner("4", "\"nohost\"", "\"127.0.0.1:2\""), 400, "host:port"),
        Arguments.of("POST", "/admin/learners", learner("4", "\"127.0.0.1:1\"", "7"), 400, "must be a JSON string"),
        Arguments.of("POST", "/admin/learners", learner("4", "\"127.0.0.1:1\"", "\"h:0\""), 400, "port=0"),
        Arguments.of("POST", "/admin/learners",
            "{\"id\":4,\"raft\":\"127.0.0.1:1\",\"http\":\"127.0.0.1:2\",\"blocking\":\"yes\"}", 400,
            "true or false"),
        Arguments.of("POST", "/admin/learners",
            "{\"id\":4,\"raft\":\"127.0.0.1:1\",\"http\":\"127.0.0.1:2\",\"voter\":true}", 400,
            "unknown member"),
        Arguments.of("POST", "/admin/learners", learner("1", "\"127.0.0.1:1\"", "\"127.0.0.1:2\""), 400,
            "already a member"),
        Arguments.of("POST", "/admin/learners?x=1", learner("4", "\"127.0.0.1:1\"", "\"127.0.0.1:2\""), 400,
            "unknown query parameter"),
        Arguments.of("GET", "/admin/membership", null, 405, "allowed: POST"),
        Arguments.of("POST", "/admin/membership", "{}", 400, "missing member"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\"}", 400, "missing member=\\\"ids\\\""),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_learners\",\"ids\":[4]}", 400,
            "op=add_learners must be one of [add_voters, remove_voters, replace_all_voters]"),
        Arguments.of("POST", "/admin/membership", "{\"op\":null,\"ids\":[4]}", 400, "must be a JSON string"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[]}", 400, "non-empty"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":4}", 400, "non-empty"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[[4]]}", 400, "nested"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[\"4\"]}", 400, ">= 1"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[-1]}", 400, ">= 1"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[2,2]}", 400, "twice"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[4],\"retain\":1}", 400,
            "true or false"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[4],\"force\":true}", 400,
            "unknown member"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":[9]}", 400,
            "node 9 is not a member"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"remove_voters\",\"ids\":[9]}", 400,
            "node 9 is not a voter"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"replace_all_voters\",\"ids\":[1,9]}", 400,
            "node 9 is not a member"),
        Arguments.of("POST", "/admin/membership", "{\"op\":\"remove_voters\",\"ids\":[1,2,3]}", 400,
            "would leave no voter"),
        Arguments.of("POST", "/admin/transfer-leader", "{}", 400, "id"),
        Arguments.of("POST", "/admin/transfer-leader", "{\"id\":9}", 400, "node 9 is not a voter"),
        Arguments.of("POST", "/admin/snapshot", "{}", 400, "takes no body"));
  }

  private static String learner(final String id, final String raft, final String http) {
    return "{\"id\":" + id + ",\"raft\":" + raft + ",\"http\":" + http + ",\"blocking\":false}";
  }

  @ParameterizedTest(name = "{0} {1} -> {3}")
  @MethodSource("badRequests")
  void shouldRefuseBadRequestsWithJsonErrorsAndChangeNothing(
      final String method, final String path, final Object body, final int status, final String message)
      throws Exception {
    final LogId before = leader.raft().metrics().lastLogId();
    final Map<String, String> data = leader.stateMachine().copy();
    final HttpResponse<String> r = send(method, leader, path, body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
    assertThat(r.body()).startsWith("{\"error\":\"").contains(message);
    assertThat(Json.parseObject(r.body().strip().getBytes(StandardCharsets.UTF_8)))
        .describedAs("a flat JSON object").containsKey("error");
    assertThat(leader.raft().metrics().lastLogId()).isEqualTo(before);
    assertThat(leader.stateMachine().copy()).isEqualTo(data);
    assertThat(leader.raft().metrics().membership().membership().configs()).isEqualTo(List.of(Set.of(1L, 2L, 3L)));
    assertThat(leader.raft().metrics().membership().membership().nodes()).containsOnlyKeys(1L, 2L, 3L);
  }

  @Test
  void shouldAnswerAMalformedRequestLineWithJson() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Peer.port(leader.httpAddress()))) {
      s.setSoTimeout((int) TIMEOUT.toMillis());
      final OutputStream out = s.getOutputStream();
      out.write("THIS IS NOT HTTP\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      final InputStream in = s.getInputStream();
      final String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertThat(response).startsWith("HTTP/1.1 400").contains("{\"error\":\"malformed HTTP request");
    }
  }

  /** Paths {@link java.net.URI} refuses, so sent over a raw socket. */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"/kv/a%zzb", "/kv/a%2", "/kv/%"})
  void shouldRefuseBadPercentEncodingAndChangeNothing(final String path) throws Exception {
    final LogId before = leader.raft().metrics().lastLogId();
    final Map<String, String> data = leader.stateMachine().copy();
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Peer.port(leader.httpAddress()))) {
      s.setSoTimeout((int) TIMEOUT.toMillis());
      final String body = "{\"value\":\"v\"}";
      s.getOutputStream().write(("PUT " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      final String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(response).startsWith("HTTP/1.1 400").contains("{\"error\":\"bad percent-encoding in the key");
    }
    assertThat(leader.raft().metrics().lastLogId()).isEqualTo(before);
    assertThat(leader.stateMachine().copy()).isEqualTo(data);
  }

  @Test
  void shouldAnswerPipelinedRequestsInOrder() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Peer.port(leader.httpAddress()))) {
      s.setSoTimeout((int) TIMEOUT.toMillis());
      final String put = "{\"value\":\"p\"}";
      final String requests =
          "PUT /kv/pipelined HTTP/1.1\r\nHost: x\r\nContent-Length: " + put.length() + "\r\n\r\n" + put
              + "GET /kv/pipelined?consistency=local HTTP/1.1\r\nHost: x\r\n\r\n"
              + "GET /admin/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      s.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      final String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      final int first = response.indexOf("\"previous\"");
      final int second = response.indexOf("\"consistency\":\"local\"");
      final int third = response.indexOf("\"node_id\"");
      assertThat(first).as(response).isPositive();
      assertThat(second).as(response).isGreaterThan(first);
      assertThat(third).as(response).isGreaterThan(second);
    }
  }
}
