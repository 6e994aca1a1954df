package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.RaftMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Learners and voter changes over HTTP, each test on its own in-process cluster (netty transport,
 * memory storage): three initial voters, and a fourth node started as a future learner.
 */
class MembershipHttpTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  private final List<KvNode> nodes = new ArrayList<>();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Map<Long, Peer> peers = new TreeMap<>();
  private Peer fourth;
  private KvNode leader;

  /** Starts nodes 1 to 3 (the initial voters) and node 4 (a future learner), forms the cluster. */
  private void startCluster(final Config config) throws Exception {
    final List<Integer> ports = FreePorts.pick(8);
    for (int i = 0; i < 3; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(4 + i)));
    }
    fourth = new Peer(4, "127.0.0.1:" + ports.get(3), "127.0.0.1:" + ports.get(7));
    for (final Peer p : peers.values()) {
      nodes.add(KvNode.start(KvNode.Settings.of(p.id(), "netty", "memory", null, peers), config));
    }
    // Node 4 lists the initial voters plus itself, and is not part of the initial membership.
    final Map<Long, Peer> itsPeers = new TreeMap<>(peers);
    itsPeers.put(4L, fourth);
    nodes.add(KvNode.start(KvNode.Settings.of(4, "netty", "memory", null, itsPeers).asLearner(), config));

    final HttpResponse<String> refused = send("POST", node(4), "/admin/init", null);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
    assertThat(refused.body()).contains("future learner");
    final HttpResponse<String> init = send("POST", node(1), "/admin/init", null);
    assertThat(init.statusCode()).as(init.body()).isEqualTo(200);

    final List<CompletableFuture<RaftMetrics>> waits = new ArrayList<>();
    for (final KvNode n : nodes.subList(0, 3)) {
      waits.add(n.raft().awaitMetrics(RaftMetrics::isLeader, TIMEOUT));
    }
    final RaftMetrics m = (RaftMetrics) CompletableFuture.anyOf(waits.toArray(new CompletableFuture<?>[0]))
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    leader = node(m.nodeId());
    // The leader's blank entry of its term applied everywhere: followers know the leader, and the
    // leader may change the membership.
    final long index = leader.raft().metrics().lastLogId().index();
    for (final KvNode n : nodes.subList(0, 3)) {
      n.raft().awaitMetrics(x -> x.currentLeader() == leader.id() && x.lastApplied().index() >= index, TIMEOUT)
          .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    leader.raft().awaitMetrics(x -> x.committed().index() >= index, TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  @Test
  void shouldTransferLeadershipOverHttp() throws Exception {
    startCluster(Config.builder().clusterId(KvNode.CLUSTER_ID).build());
    final long target = leader.id() % 3 + 1;

    final HttpResponse<String> r = send("POST", leader, "/admin/transfer-leader", "{\"id\":" + target + "}");

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).contains("\"leader\":" + target);
    final RaftMetrics m = node(target).raft().awaitMetrics(RaftMetrics::isLeader, TIMEOUT)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThat(m.nodeId()).isEqualTo(target);
    final HttpResponse<String> put = send("PUT", node(target), "/kv/after-transfer", "{\"value\":\"v\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
  }

  @AfterEach
  void stopCluster() {
    nodes.forEach(KvNode::close);
  }

  private KvNode node(final long id) {
    return nodes.stream().filter(n -> n.id() == id).findFirst().orElseThrow();
  }

  private KvNode follower() {
    return nodes.subList(0, 3).stream().filter(n -> n != leader).findFirst().orElseThrow();
  }

  private HttpRequest request(final String method, final KvNode node, final String path, final String body) {
    return HttpRequest.newBuilder(URI.create("http://" + node.httpAddress() + path))
        .timeout(TIMEOUT)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private HttpResponse<String> send(final String method, final KvNode node, final String path, final String body)
      throws Exception {
    return client.send(request(method, node, path, body), HttpResponse.BodyHandlers.ofString());
  }

  private String learnerBody(final Peer p, final boolean blocking) {
    return "{\"id\":" + p.id() + ",\"raft\":\"" + p.raftAddress() + "\",\"http\":\"" + p.httpAddress()
        + "\",\"blocking\":" + blocking + "}";
  }

  @Test
  void shouldAddALearnerThenPromoteItToVoterOverHttp() throws Exception {
    startCluster(Config.builder().clusterId(KvNode.CLUSTER_ID).build());
    final KvNode learner = node(4);
    assertThat(send("PUT", leader, "/kv/before", "{\"value\":\"1\"}").statusCode()).isEqualTo(200);

    // A follower redirects; nothing changes.
    final HttpResponse<String> redirected = send("POST", follower(), "/admin/learners", learnerBody(fourth, true));
    assertThat(redirected.statusCode()).as(redirected.body()).isEqualTo(307);
    assertThat(redirected.headers().firstValue("location")).hasValue("http://" + leader.httpAddress() + "/admin/learners");
    assertThat(leader.raft().metrics().membership().membership().nodes()).containsOnlyKeys(1L, 2L, 3L);

    // Blocking: answered once node 4 has caught up.
    final HttpResponse<String> added = send("POST", leader, "/admin/learners", learnerBody(fourth, true));
    assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
    assertThat(added.body()).contains("\"learner\":4", "\"blocking\":true", "\"log_id\":{\"term\":");
    final RaftMetrics asLearner = leader.raft().metrics();
    assertThat(asLearner.membership().membership().learnerIds()).containsExactly(4L);
    assertThat(asLearner.membership().membership().configs()).isEqualTo(List.of(Set.of(1L, 2L, 3L)));
    final long caughtUp = asLearner.committed().index();
    learner.raft().awaitApplied(caughtUp, TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThat(learner.stateMachine().get("before")).isEqualTo("1");
    final HttpResponse<String> metrics = send("GET", leader, "/admin/metrics", null);
    assertThat(metrics.body()).contains("\"learners\":[4]", "\"joint\":false",
        "\"4\":\"" + fourth.httpAddress() + "\"");

    // A learner serves linearizable reads itself, with a read index from the leader.
    final HttpResponse<String> read = send("GET", learner, "/kv/before", null);
    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    assertThat(read.body()).contains("\"value\":\"1\"", "\"node\":4");

    // Promote it: joint consensus, answered once the final configuration is committed.
    final String promote = "{\"op\":\"add_voters\",\"ids\":[4]}";
    assertThat(send("POST", follower(), "/admin/membership", promote).statusCode()).isEqualTo(307);
    final HttpResponse<String> promoted = send("POST", leader, "/admin/membership", promote);
    assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(200);
    assertThat(promoted.body()).contains("\"op\":\"add_voters\"", "\"ids\":[4]", "\"retain\":true", "\"log_id\":{");
    final HttpResponse<String> after = send("GET", leader, "/admin/metrics", null);
    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(after.body()).contains("\"voter_sets\":[[1,2,3,4]]", "\"learners\":[]", "\"joint\":false");

    // The new voter learns it too, and takes part in later writes.
    learner.raft().awaitMembership(mm -> mm.configs().equals(List.of(Set.of(1L, 2L, 3L, 4L))), TIMEOUT)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    final HttpResponse<String> put = send("PUT", leader, "/kv/after", "{\"value\":\"2\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    final HttpResponse<String> linearizable = send("GET", leader, "/kv/after", null);
    assertThat(linearizable.body()).contains("\"value\":\"2\"", "\"consistency\":\"linearizable\"");
    learner.raft().awaitApplied(leader.raft().metrics().committed().index(), TIMEOUT)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThat(learner.stateMachine().get("after")).isEqualTo("2");
  }

  /**
   * A second change while one is in progress is refused with 409. Deterministic: CheckQuorum is
   * off (so the leader never steps down on its own) and the first change makes two learners at
   * addresses where nothing listens the only new voters, so its joint configuration never commits.
   */
  @Test
  void shouldRefuseASecondChangeWhileOneIsInProgress() throws Exception {
    startCluster(Config.builder().clusterId(KvNode.CLUSTER_ID).checkQuorum(false).build());
    final List<Integer> dead = FreePorts.pick(4);
    for (int i = 0; i < 2; i++) {
      final Peer p = new Peer(8 + i, "127.0.0.1:" + dead.get(i), "127.0.0.1:" + dead.get(2 + i));
      final HttpResponse<String> r = send("POST", leader, "/admin/learners", learnerBody(p, false));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    leader.raft().awaitMetrics(m -> m.committed().index() >= m.membership().logId().index(), TIMEOUT)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

    final CompletableFuture<HttpResponse<String>> stuck = client.sendAsync(
        request("POST", leader, "/admin/membership", "{\"op\":\"replace_all_voters\",\"ids\":[8,9]}"),
        HttpResponse.BodyHandlers.ofString());
    leader.raft().awaitMetrics(RaftMetrics::isJoint, TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    final LogId before = leader.raft().metrics().lastLogId();

    for (final String[] req : new String[][] {
        {"/admin/membership", "{\"op\":\"remove_voters\",\"ids\":[3]}"},
        {"/admin/learners", learnerBody(fourth, false)}}) {
      final HttpResponse<String> r = send("POST", leader, req[0], req[1]);
      assertThat(r.statusCode()).as("%s: %s", req[0], r.body()).isEqualTo(409);
      assertThat(r.body()).startsWith("{\"error\":\"").contains("in progress");
    }
    assertThat(leader.raft().metrics().lastLogId()).isEqualTo(before);
    final Membership joint = leader.raft().metrics().membership().membership();
    assertThat(joint.configs()).isEqualTo(List.of(Set.of(1L, 2L, 3L), Set.of(8L, 9L)));
    stuck.cancel(true);
  }
}
