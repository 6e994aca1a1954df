package io.raftkit.examples.kv;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import io.raftkit.api.ChangeMembers;
import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.AlreadyInitializedException;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.LeaseExpiredException;
import io.raftkit.api.error.NotAMemberException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.OverloadedException;
import io.raftkit.api.error.ShutdownException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/JSON API of one node. Every answer is JSON; every error is {@code {"error": ...}} with
 * a 4xx or 5xx status, and a request refused with 4xx changes nothing (it is validated in full
 * before anything is proposed).
 *
 * <table>
 *   <caption>routes</caption>
 *   <tr><th>request</th><th>does</th></tr>
 *   <tr><td>{@code PUT /kv/{key}} {@code {"value":"v"}}</td><td>sets the key (leader only)</td></tr>
 *   <tr><td>{@code GET /kv/{key}[?consistency=linearizable|lease|local]}</td><td>reads the key:
 *       {@code linearizable} (default) on the leader, which confirms its leadership with a
 *       ReadIndex heartbeat round ({@link ReadPolicy#READ_INDEX}) and answers from its state
 *       machine once that applied the read index; {@code lease} the same without the round while
 *       the leader's lease holds ({@link ReadPolicy#LEASE}; 503 when it has run out: retry, or use
 *       {@code linearizable}); {@code local} reads this node's state machine, leader or not, and
 *       says {@code "stale_possible":true}</td></tr>
 *   <tr><td>{@code DELETE /kv/{key}}</td><td>removes the key (leader only)</td></tr>
 *   <tr><td>{@code POST /kv/{key}/cas} {@code {"expected":"a"|null,"value":"b"}}</td><td>sets the
 *       key if its value is {@code expected} ({@code null}: absent); 409 with the current value if
 *       not</td></tr>
 *   <tr><td>{@code POST /admin/init}</td><td>forms the cluster of the configured peers (409 on a
 *       node started as a future learner)</td></tr>
 *   <tr><td>{@code GET /admin/metrics[?leader_above_term=T][&applied_at_least=I][&wait_ms=N]}</td>
 *       <td>this node's {@link RaftMetrics}, its key count and its table of peers' HTTP addresses;
 *       with a condition, a long poll: answered once this node knows a leader of a term above
 *       {@code T} that has committed an entry of its term (ready for linearizable reads) and has
 *       applied index {@code I}, 504 after {@code wait_ms} (default and at most 60000)</td></tr>
 *   <tr><td>{@code POST /admin/learners} {@code
 *       {"id":4,"raft":"h:p","http":"h:p","blocking":true}}</td><td>adds a learner (leader only;
 *       {@code blocking}, default true: answers once it has caught up) and records its HTTP
 *       address in this node's peer table</td></tr>
 *   <tr><td>{@code POST /admin/membership} {@code
 *       {"op":"add_voters|remove_voters|replace_all_voters","ids":[4],"retain":true}}</td><td>changes
 *       the voters by joint consensus (leader only); {@code add_voters} and {@code
 *       replace_all_voters} name members (learners) only; {@code retain} (default true) keeps
 *       removed voters as learners. 200 with the log id of the final membership entry, 400 for a
 *       change the engine refuses, 409 if another change is in progress, 503 if the leader has not
 *       yet committed an entry of its term</td></tr>
 *   <tr><td>{@code POST /admin/transfer-leader} {@code {"id":2}}</td><td>hands leadership to a
 *       voter (leader only): 200 once this node follows it, 400 if it is not a voter, 409 if a
 *       transfer is in progress, 504 if the target did not take over in time</td></tr>
 *   <tr><td>{@code POST /admin/snapshot}</td><td>builds a snapshot of this node's map now (any
 *       node) and purges its log behind it: 200 with the snapshot's last log id and name, 400 if
 *       nothing was applied yet</td></tr>
 * </table>
 *
 * <p>Keys are one path segment, percent-encoded (a {@code /} in a key is {@code %2F}); see {@link
 * KvCommand#keyProblem}. Linearizable and lease reads are served by any node: a follower or
 * learner asks the leader for a read index and answers from its own map once it has applied up
 * to it. A request that needs the leader (writes, learners, membership, transfer), sent to a
 * follower, is answered 307 with {@code Location} at the
 * leader's HTTP address (the same method and body apply there), or 503 if this node does not know
 * the leader or its HTTP address.
 *
 * <p>The peer table (id to HTTP address) starts as the configured peers; {@code POST
 * /admin/learners} adds the new node to the table of the node that served it only. Other nodes
 * learn the Raft address from the membership but not the HTTP address, so a node that never
 * served that request answers 503 rather than 307 if the learner, once a voter, becomes leader.
 *
 * <p>Stateless and shared by every connection. Never blocks the event loop: requests that go
 * through the log are answered when their entry applies, or after the write timeout (504: the
 * outcome is unknown).
 */
@ChannelHandler.Sharable
final class HttpApi extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
  private static final AttributeKey<CompletableFuture<Void>> TAIL = AttributeKey.valueOf("raftkit.kv.responseTail");

  /** The membership operations of {@code POST /admin/membership}. */
  private static final Set<String> MEMBERSHIP_OPS = Set.of("add_voters", "remove_voters", "replace_all_voters");

  private final KvNode.Settings settings;
  private final Raft<KvResult> raft;
  private final KvStateMachine stateMachine;
  /** Peer id to HTTP address: the configured peers, then the learners this node added. */
  private final ConcurrentMap<Long, String> httpPeers = new ConcurrentHashMap<>();

  HttpApi(final KvNode.Settings settings, final Raft<KvResult> raft, final KvStateMachine stateMachine) {
    this.settings = settings;
    this.raft = raft;
    this.stateMachine = stateMachine;
    settings.peers().forEach((id, peer) -> httpPeers.put(id, peer.httpAddress()));
  }

  /** The HTTP address of node {@code nodeId} in this node's peer table, or {@code null}. */
  String httpAddressOf(final long nodeId) {
    return httpPeers.get(nodeId);
  }

  /** A request refused with a 4xx answer; nothing was proposed. */
  private static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    private final HttpResponseStatus status;
    private final Map<String, Object> body;

    Refused(final HttpResponseStatus status, final String error) {
      this(status, error, Map.of());
    }

    Refused(final HttpResponseStatus status, final String error, final Map<String, Object> extra) {
      super(error, null, false, false);
      this.status = status;
      final Map<String, Object> b = new LinkedHashMap<>();
      b.put("error", error);
      b.putAll(extra);
      this.body = b;
    }
  }

  @Override
  protected void channelRead0(final ChannelHandlerContext ctx, final FullHttpRequest request) {
    final boolean keepAlive = HttpUtil.isKeepAlive(request);
    if (request.decoderResult().isFailure()) {
      final Throwable cause = request.decoderResult().cause();
      final HttpResponseStatus status =
          cause instanceof TooLongHttpLineException
              ? HttpResponseStatus.REQUEST_URI_TOO_LONG
              : cause instanceof TooLongHttpHeaderException
                  ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                  : cause instanceof TooLongFrameException
                      ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE
                      : HttpResponseStatus.BAD_REQUEST;
      reply(ctx, false, CompletableFuture.completedFuture(
          json(status, Map.of("error", "malformed HTTP request: " + cause.getMessage()))));
      return;
    }
    CompletableFuture<FullHttpResponse> answer;
    try {
      final String uri = request.uri();
      final boolean read = request.method().equals(HttpMethod.GET);
      // Redirects keep the scheme: every node of a cluster serves HTTPS, or none does.
      final String scheme = ctx.pipeline().get(SslHandler.class) != null ? "https" : "http";
      answer = route(request).handle(
          (response, failure) -> response != null ? response : failure(scheme, uri, read, failure));
    } catch (final Refused r) {
      final FullHttpResponse response = json(r.status, r.body);
      if (r.status == HttpResponseStatus.METHOD_NOT_ALLOWED) {
        response.headers().set(HttpHeaderNames.ALLOW, r.body.get("allow"));
      }
      answer = CompletableFuture.completedFuture(response);
    }
    reply(ctx, keepAlive, answer);
  }

  /**
   * Sends {@code answer} once it and every earlier answer on this connection are sent: requests
   * complete out of order (a local read before a write), but a pipelining client gets its
   * responses in request order. Registered on the event loop, so the tail needs no lock; every send
   * goes through the event loop's task queue, which keeps the order.
   */
  private static void reply(
      final ChannelHandlerContext ctx, final boolean keepAlive, final CompletableFuture<FullHttpResponse> answer) {
    final Attribute<CompletableFuture<Void>> tail = ctx.channel().attr(TAIL);
    final CompletableFuture<Void> previous = tail.get() == null ? CompletableFuture.completedFuture(null) : tail.get();
    // Always hand the write to the event loop's queue, even when already on it: an answer completed
    // on the apply thread is queued there, and a later answer written inline would overtake it
    // (and a "Connection: close" answer would then close the channel before the earlier one left).
    tail.set(previous.thenCombine(answer, (v, response) -> response)
        .thenAccept(r -> ctx.executor().execute(() -> send(ctx, keepAlive, r))));
  }

  private CompletableFuture<FullHttpResponse> route(final FullHttpRequest request) throws Refused {
    final QueryStringDecoder uri = new QueryStringDecoder(request.uri());
    final String path = uri.rawPath();
    final HttpMethod method = request.method();
    if (path.equals("/kv") || path.startsWith("/kv/")) {
      final String[] parts = path.substring(Math.min(path.length(), 4)).split("/", -1);
      if (parts.length > 2 || (parts.length == 2 && !parts[1].equals("cas"))) {
        throw new Refused(HttpResponseStatus.NOT_FOUND, "no such route: " + path
            + " (a key is one path segment; encode '/' in a key as %2F)");
      }
      final boolean cas = parts.length == 2;
      if (cas) {
        allow(method, "POST");
      } else {
        allow(method, "GET, PUT, DELETE");
      }
      final String key = decodeKey(parts[0]);
      if (cas) {
        noQuery(uri);
        return cas(key, request);
      } else if (method.equals(HttpMethod.GET)) {
        return get(key, uri);
      } else if (method.equals(HttpMethod.PUT)) {
        noQuery(uri);
        return put(key, request);
      }
      noQuery(uri);
      emptyBody(request);
      return propose(KvCommand.delete(key), r -> deleted(key, r));
    }
    switch (path) {
      case "/admin/init":
        allow(method, "POST");
        noQuery(uri);
        emptyBody(request);
        if (settings.learner()) {
          throw new Refused(
              HttpResponseStatus.CONFLICT,
              "node " + settings.id() + " was started as a future learner (--learner): it does not"
                  + " initialize a cluster; add it with POST /admin/learners on the leader");
        }
        return raft.initialize(settings.initialMembership()).thenApply(ok -> initialized());
      case "/admin/learners":
        allow(method, "POST");
        noQuery(uri);
        return addLearner(request);
      case "/admin/membership":
        allow(method, "POST");
        noQuery(uri);
        return changeMembership(request);
      case "/admin/transfer-leader":
        allow(method, "POST");
        noQuery(uri);
        return transferLeader(request);
      case "/admin/snapshot":
        allow(method, "POST");
        noQuery(uri);
        emptyBody(request);
        return raft.trigger().snapshot().thenApply(meta -> {
          final Map<String, Object> out = new LinkedHashMap<>();
          out.put("node", settings.id());
          out.put("last_log_id", logId(meta.lastLogId()));
          out.put("snapshot_id", meta.snapshotId());
          return json(HttpResponseStatus.OK, out);
        });
      case "/admin/digest": // read-only, for comparing replicas (the chaos test)
        allow(method, "GET");
        noQuery(uri);
        return CompletableFuture.completedFuture(json(HttpResponseStatus.OK, stateMachine.digest().toJson(settings.id())));
      case "/admin/metrics":
        allow(method, "GET");
        return metrics(uri);
      default:
        throw new Refused(HttpResponseStatus.NOT_FOUND, "no such route: " + path);
    }
  }

  /** The longest {@code wait_ms} of {@code GET /admin/metrics}. */
  static final long MAX_METRICS_WAIT_MS = 60_000;

  /**
   * {@code GET /admin/metrics}, at once, or with {@code leader_above_term=T} and/or {@code
   * applied_at_least=I} once this node knows a leader of a term above {@code T} that has committed
   * an entry of its term (and this node has seen that commit) and/or has applied index {@code I}:
   * a long poll, answered when the metrics change to satisfy it (no polling on
   * either side), 504 with the last metrics after {@code wait_ms} (default and most {@value
   * #MAX_METRICS_WAIT_MS}).
   */
  private CompletableFuture<FullHttpResponse> metrics(final QueryStringDecoder uri) throws Refused {
    long leaderAboveTerm = -1;
    long appliedAtLeast = -1;
    long waitMs = MAX_METRICS_WAIT_MS;
    for (final Map.Entry<String, List<String>> p : uri.parameters().entrySet()) {
      if (p.getValue().size() != 1) {
        throw new Refused(HttpResponseStatus.BAD_REQUEST, "query parameter=" + p.getKey() + " is repeated");
      }
      final String v = p.getValue().get(0);
      switch (p.getKey()) {
        case "leader_above_term" -> leaderAboveTerm = queryLong(p.getKey(), v, 0, Long.MAX_VALUE - 1);
        case "applied_at_least" -> appliedAtLeast = queryLong(p.getKey(), v, 0, Long.MAX_VALUE);
        case "wait_ms" -> waitMs = queryLong(p.getKey(), v, 1, MAX_METRICS_WAIT_MS);
        default -> throw new Refused(HttpResponseStatus.BAD_REQUEST, "unknown query parameter=" + p.getKey()
            + "; accepted: leader_above_term, applied_at_least, wait_ms");
      }
    }
    final long term = leaderAboveTerm;
    final long applied = appliedAtLeast;
    final long timeoutMs = waitMs;
    // A leader of term t is ready once it has committed an entry of t (its blank entry): only then
    // does it serve linearizable reads and membership changes. A follower sees that in its commit.
    final Predicate<RaftMetrics> ready = m -> (term < 0 || (m.currentLeader() != 0
        && m.currentTerm() > term && m.committed().term() == m.currentTerm()))
        && (applied < 0 || m.lastApplied().index() >= applied);
    return raft.awaitMetrics(ready, Duration.ofMillis(timeoutMs)).handle((m, err) -> {
      if (err == null) {
        return json(HttpResponseStatus.OK, metricsJson(m, stateMachine, new TreeMap<>(httpPeers)));
      }
      final Throwable cause = err instanceof CompletionException && err.getCause() != null
          ? err.getCause() : err;
      final Map<String, Object> body = new LinkedHashMap<>();
      if (cause instanceof TimeoutException) {
        body.put("error", "the metrics did not reach " + uri.rawQuery() + " within wait_ms=" + timeoutMs);
        body.put("metrics", metricsJson(raft.metrics(), stateMachine, null));
        return json(HttpResponseStatus.GATEWAY_TIMEOUT, body);
      }
      body.put("error", "node " + settings.id() + " stopped while waiting: " + cause.getMessage());
      return json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
    });
  }

  private static long queryLong(final String name, final String value, final long min, final long max)
      throws Refused {
    try {
      final long n = Long.parseLong(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (final NumberFormatException e) {
      // refused below
    }
    throw new Refused(HttpResponseStatus.BAD_REQUEST,
        name + "=" + Json.encode(value) + " must be an integer in [" + min + ", " + max + "]");
  }

  private CompletableFuture<FullHttpResponse> get(final String key, final QueryStringDecoder uri)
      throws Refused {
    String consistency = "linearizable";
    for (final Map.Entry<String, List<String>> p : uri.parameters().entrySet()) {
      if (!p.getKey().equals("consistency") || p.getValue().size() != 1) {
        throw new Refused(
            HttpResponseStatus.BAD_REQUEST,
            "unknown or repeated query parameter=" + p.getKey() + "; only consistency=linearizable|lease|local is accepted");
      }
      consistency = p.getValue().get(0);
    }
    switch (consistency) {
      case "linearizable":
        return confirmedRead(key, ReadPolicy.READ_INDEX, consistency);
      case "lease":
        return confirmedRead(key, ReadPolicy.LEASE, consistency);
      case "local":
        final LogId applied = stateMachine.lastApplied();
        final String value = stateMachine.get(key);
        final Map<String, Object> body = new LinkedHashMap<>();
        body.put("key", key);
        body.put("value", value);
        body.put("consistency", "local");
        body.put("stale_possible", true);
        body.put("node", settings.id());
        body.put("applied_index", applied.index());
        if (value == null) {
          body.put("error", "key not found");
          return CompletableFuture.completedFuture(json(HttpResponseStatus.NOT_FOUND, body));
        }
        return CompletableFuture.completedFuture(json(HttpResponseStatus.OK, body));
      default:
        throw new Refused(
            HttpResponseStatus.BAD_REQUEST,
            "consistency=" + consistency + " must be linearizable, lease or local");
    }
  }

  /**
   * A read confirmed by the engine ({@link Raft#ensureLinearizable}): once the leader has proved
   * its leadership and its state machine applied the read index, reads the local state machine,
   * which then reflects every write acknowledged before the request.
   */
  private CompletableFuture<FullHttpResponse> confirmedRead(
      final String key, final ReadPolicy policy, final String consistency) {
    return raft.ensureLinearizable(policy)
        .orTimeout(settings.writeTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(readIndex -> {
          final String value = stateMachine.get(key);
          final Map<String, Object> body = new LinkedHashMap<>();
          body.put("key", key);
          body.put("value", value);
          body.put("consistency", consistency);
          body.put("node", settings.id());
          body.put("read_index", readIndex.index());
          if (value == null) {
            body.put("error", "key not found");
            return json(HttpResponseStatus.NOT_FOUND, body);
          }
          return json(HttpResponseStatus.OK, body);
        });
  }

  /** {@code POST /admin/learners}: validates the body in full, then {@link Raft#addLearner}. */
  private CompletableFuture<FullHttpResponse> addLearner(final FullHttpRequest request) throws Refused {
    final Map<String, Object> body =
        jsonBody(request, Set.of("id", "raft", "http", "blocking"), Set.of("id", "raft", "http"));
    final long id = idValue("id", body.get("id"));
    final String raftAddress = addressMember(body, "raft");
    final String httpAddress = addressMember(body, "http");
    final boolean blocking = booleanMember(body, "blocking", true);
    return raft.addLearner(id, raftAddress, blocking)
        .orTimeout(settings.writeTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(logId -> {
          httpPeers.put(id, httpAddress);
          final Map<String, Object> out = new LinkedHashMap<>();
          out.put("learner", id);
          out.put("raft", raftAddress);
          out.put("http", httpAddress);
          out.put("blocking", blocking);
          out.put("node", settings.id());
          out.put("log_id", logId(logId));
          return json(HttpResponseStatus.OK, out);
        });
  }

  /** {@code POST /admin/membership}: validates the body in full, then {@link Raft#changeMembership}. */
  private CompletableFuture<FullHttpResponse> transferLeader(final FullHttpRequest request) throws Refused {
    final Map<String, Object> body = jsonBody(request, Set.of("id"), Set.of("id"));
    final long target = idValue("id", body.get("id"));
    return raft.trigger().transferLeader(target).thenApply(v -> {
      final Map<String, Object> out = new LinkedHashMap<>();
      out.put("node", settings.id());
      out.put("leader", target);
      return json(HttpResponseStatus.OK, out);
    });
  }

  private CompletableFuture<FullHttpResponse> changeMembership(final FullHttpRequest request) throws Refused {
    final Map<String, Object> body = jsonBody(request, Set.of("op", "ids", "retain"), Set.of("op", "ids"));
    final String op = stringMember(body, "op", false);
    if (!MEMBERSHIP_OPS.contains(op)) {
      throw new Refused(
          HttpResponseStatus.BAD_REQUEST, "op=" + op + " must be one of " + new TreeSet<>(MEMBERSHIP_OPS));
    }
    if (!(body.get("ids") instanceof List<?> list) || list.isEmpty()) {
      throw new Refused(
          HttpResponseStatus.BAD_REQUEST,
          "member=\"ids\" must be a non-empty JSON array of node ids, got " + Json.encode(body.get("ids")));
    }
    final Set<Long> ids = new TreeSet<>();
    for (final Object o : list) {
      if (!ids.add(idValue("ids", o))) {
        throw new Refused(HttpResponseStatus.BAD_REQUEST, "member=\"ids\" names node " + o + " twice");
      }
    }
    final boolean retain = booleanMember(body, "retain", true);
    final ChangeMembers change;
    switch (op) {
      case "add_voters":
        change = new ChangeMembers.AddVoterIds(ids);
        break;
      case "remove_voters":
        change = new ChangeMembers.RemoveVoters(ids);
        break;
      default:
        change = new ChangeMembers.ReplaceAllVoters(ids);
        break;
    }
    return raft.changeMembership(change, retain)
        .orTimeout(settings.writeTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(logId -> {
          final Map<String, Object> out = new LinkedHashMap<>();
          out.put("op", op);
          out.put("ids", ids);
          out.put("retain", retain);
          out.put("node", settings.id());
          out.put("log_id", logId(logId));
          return json(HttpResponseStatus.OK, out);
        });
  }

  private CompletableFuture<FullHttpResponse> put(final String key, final FullHttpRequest request)
      throws Refused {
    final Map<String, Object> body = jsonBody(request, Set.of("value"), Set.of("value"));
    final String value = stringMember(body, "value", false);
    return propose(KvCommand.put(key, value), r -> {
      final Map<String, Object> out = new LinkedHashMap<>();
      out.put("key", key);
      out.put("value", value);
      out.put("previous", r.response().value());
      out.put("node", settings.id());
      out.put("log_index", r.logId().index());
      return json(HttpResponseStatus.OK, out);
    });
  }

  private CompletableFuture<FullHttpResponse> cas(final String key, final FullHttpRequest request)
      throws Refused {
    final Map<String, Object> body =
        jsonBody(request, Set.of("expected", "value"), Set.of("expected", "value"));
    final String expected = stringMember(body, "expected", true);
    final String value = stringMember(body, "value", false);
    return propose(KvCommand.cas(key, expected, value), r -> {
      final Map<String, Object> out = new LinkedHashMap<>();
      if (!r.response().ok()) {
        out.put("error", "compare-and-set failed: the current value is not the expected one");
      }
      out.put("key", key);
      out.put("swapped", r.response().ok());
      out.put("expected", expected);
      out.put("value", r.response().value());
      out.put("node", settings.id());
      out.put("log_index", r.logId().index());
      return json(r.response().ok() ? HttpResponseStatus.OK : HttpResponseStatus.CONFLICT, out);
    });
  }

  private FullHttpResponse deleted(final String key, final WriteResult<KvResult> r) {
    final Map<String, Object> out = new LinkedHashMap<>();
    out.put("key", key);
    out.put("deleted", r.response().ok());
    out.put("previous", r.response().value());
    out.put("node", settings.id());
    out.put("log_index", r.logId().index());
    return json(HttpResponseStatus.OK, out);
  }

  private FullHttpResponse initialized() {
    final Map<String, Object> out = new LinkedHashMap<>();
    out.put("initialized", true);
    out.put("node", settings.id());
    out.put("voters", settings.initialMembership().nodes());
    return json(HttpResponseStatus.OK, out);
  }

  /** Proposes {@code command} and maps its applied result; a null result is a 500. */
  private CompletableFuture<FullHttpResponse> propose(
      final KvCommand command, final java.util.function.Function<WriteResult<KvResult>, FullHttpResponse> ok) {
    return raft.write(command.encode())
        .orTimeout(settings.writeTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(
            r -> r.response() == null
                ? json(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                    Map.of("error", "the state machine returned no result for entry " + r.logId()))
                : ok.apply(r));
  }

  /** Maps a failed proposal, read, membership change or initialize to an answer. */
  private FullHttpResponse failure(
      final String scheme, final String uri, final boolean read, final Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    final Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", String.valueOf(cause.getMessage()));
    body.put("node", settings.id());
    if (cause instanceof NotLeaderException nle) {
      final String leaderHttp = nle.leaderId() == 0 ? null : httpAddressOf(nle.leaderId());
      if (leaderHttp == null) {
        body.put("error", "not the leader, and no leader is known; retry later");
        body.put("leader_id", nle.leaderId() == 0 ? null : nle.leaderId());
        final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        return r;
      }
      final String location = scheme + "://" + leaderHttp + uri;
      body.put("error", "not the leader; retry at the leader");
      body.put("leader_id", nle.leaderId());
      body.put("leader_http", leaderHttp);
      body.put("location", location);
      final FullHttpResponse r = json(HttpResponseStatus.TEMPORARY_REDIRECT, body);
      r.headers().set(HttpHeaderNames.LOCATION, location);
      return r;
    }
    if (cause instanceof AlreadyInitializedException || cause instanceof NotAMemberException) {
      return json(HttpResponseStatus.CONFLICT, body);
    }
    if (cause instanceof InvalidRequestException) {
      final String message = String.valueOf(cause.getMessage());
      if (message.contains("in progress")) {
        return json(HttpResponseStatus.CONFLICT, body);
      }
      if (message.contains("has not yet committed an entry of its term")) {
        final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        return r;
      }
      return json(HttpResponseStatus.BAD_REQUEST, body);
    }
    if (cause instanceof io.raftkit.api.error.LeadershipTransferException) {
      // The target did not take over in time (lagging or dead); this node leads and takes writes again.
      return json(HttpResponseStatus.GATEWAY_TIMEOUT, body);
    }
    if (cause instanceof LeaseExpiredException) {
      body.put("error", "the leader's lease expired (or is not established yet); retry, or use"
          + " consistency=linearizable");
      body.put("detail", String.valueOf(cause.getMessage()));
      final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
      return r;
    }
    if (cause instanceof OverloadedException || cause instanceof ShutdownException) {
      final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
      return r;
    }
    if (read && cause instanceof io.raftkit.api.error.UnreachableException) {
      // A follower read that could not get a read index from the leader (cut off, or the leader
      // died): nothing was read; retry (the chaos test saw these answered 500 with a stack trace).
      final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
      return r;
    }
    if (cause instanceof io.raftkit.api.error.OutcomeUnknownException) {
      body.put("error", "the outcome is unknown (the entry may or may not be committed): " + cause.getMessage());
      return json(HttpResponseStatus.GATEWAY_TIMEOUT, body);
    }
    if (cause instanceof TimeoutException) {
      body.put("error", read
          ? "the read was not confirmed within writeTimeout=" + settings.writeTimeout() + "; retry"
          : "no answer within writeTimeout=" + settings.writeTimeout()
              + "; the outcome is unknown (the entry may still be committed)");
      return json(HttpResponseStatus.GATEWAY_TIMEOUT, body);
    }
    LOG.warn("request {} failed", uri, cause);
    return json(HttpResponseStatus.INTERNAL_SERVER_ERROR, body);
  }

  private static void allow(final HttpMethod method, final String allowed) throws Refused {
    for (final String m : allowed.split(", ")) {
      if (m.equals(method.name())) {
        return;
      }
    }
    throw new Refused(
        HttpResponseStatus.METHOD_NOT_ALLOWED,
        "method=" + method.name() + " is not allowed here; allowed: " + allowed,
        Map.of("allow", allowed));
  }

  private static void noQuery(final QueryStringDecoder uri) throws Refused {
    if (!uri.parameters().isEmpty()) {
      throw new Refused(
          HttpResponseStatus.BAD_REQUEST, "unknown query parameter=" + uri.parameters().keySet().iterator().next());
    }
  }

  private static void emptyBody(final FullHttpRequest request) throws Refused {
    if (request.content().isReadable()) {
      throw new Refused(HttpResponseStatus.BAD_REQUEST, "this request takes no body");
    }
  }

  /**
   * Percent-decodes one path segment (strictly: {@code %} must start two hex digits, the bytes
   * must be UTF-8; {@code +} stays a plus) and validates it as a key.
   */
  static String decodeKey(final String raw) throws Refused {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      final char c = raw.charAt(i);
      if (c == '%') {
        final int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
        final int lo = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
        if (hi < 0 || lo < 0) {
          throw new Refused(HttpResponseStatus.BAD_REQUEST, "bad percent-encoding in the key at index " + i);
        }
        bytes.write(hi * 16 + lo);
        i += 2;
      } else {
        final byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
      }
    }
    final String key;
    try {
      key = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (final CharacterCodingException e) {
      throw new Refused(HttpResponseStatus.BAD_REQUEST, "the key is not valid UTF-8 once percent-decoded");
    }
    final String problem = KvCommand.keyProblem(key);
    if (problem != null) {
      throw new Refused(HttpResponseStatus.BAD_REQUEST, problem);
    }
    return key;
  }

  private static Map<String, Object> jsonBody(
      final FullHttpRequest request, final Set<String> allowed, final Set<String> required) throws Refused {
    final Map<String, Object> body;
    try {
      body = Json.parseObject(ByteBufUtil.getBytes(request.content()));
    } catch (final Json.JsonException e) {
      throw new Refused(HttpResponseStatus.BAD_REQUEST, "malformed JSON body: " + e.getMessage());
    }
    for (final String name : body.keySet()) {
      if (!allowed.contains(name)) {
        throw new Refused(
            HttpResponseStatus.BAD_REQUEST,
            "unknown member=\"" + name + "\"; accepted: " + new java.util.TreeSet<>(allowed));
      }
    }
    for (final String name : required) {
      if (!body.containsKey(name)) {
        throw new Refused(HttpResponseStatus.BAD_REQUEST, "missing member=\"" + name + "\"");
      }
    }
    return body;
  }

  private static String stringMember(final Map<String, Object> body, final String name, final boolean nullable)
      throws Refused {
    final Object v = body.get(name);
    if (v instanceof String s) {
      return s;
    }
    if (v == null && nullable) {
      return null;
    }
    throw new Refused(
        HttpResponseStatus.BAD_REQUEST,
        "member=\"" + name + "\" must be a JSON string" + (nullable ? " or null" : "") + ", got " + Json.encode(v));
  }

  /** A node id: a JSON integer literal {@code >= 1}. */
  private static long idValue(final String member, final Object v) throws Refused {
    if (v instanceof Json.JsonNumber n && n.literal().matches("[1-9][0-9]{0,17}")) {
      return Long.parseLong(n.literal());
    }
    throw new Refused(
        HttpResponseStatus.BAD_REQUEST,
        "member=\"" + member + "\" must hold node ids (integers >= 1), got " + Json.encode(v));
  }

  private static String addressMember(final Map<String, Object> body, final String name) throws Refused {
    final String address = stringMember(body, name, false);
    try {
      Peer.checkHostPort(address, "member=\"" + name + "\"", false);
    } catch (final IllegalArgumentException e) {
      throw new Refused(HttpResponseStatus.BAD_REQUEST, e.getMessage());
    }
    return address;
  }

  private static boolean booleanMember(final Map<String, Object> body, final String name, final boolean fallback)
      throws Refused {
    if (!body.containsKey(name)) {
      return fallback;
    }
    final Object v = body.get(name);
    if (v instanceof Boolean b) {
      return b;
    }
    throw new Refused(
        HttpResponseStatus.BAD_REQUEST, "member=\"" + name + "\" must be true or false, got " + Json.encode(v));
  }

  /** The metrics of a node, plus its key count and peer table (if not null), as a JSON-ready map. */
  static Map<String, Object> metricsJson(
      final RaftMetrics m, final KvStateMachine stateMachine, final Map<Long, String> httpPeers) {
    final Map<String, Object> out = new LinkedHashMap<>();
    out.put("node_id", m.nodeId());
    out.put("state", m.state().name());
    out.put("current_term", m.currentTerm());
    out.put("current_leader", m.currentLeader() == 0 ? null : m.currentLeader());
    final Map<String, Object> vote = new LinkedHashMap<>();
    vote.put("term", m.vote().term());
    vote.put("voted_for", m.vote().votedFor() == 0 ? null : m.vote().votedFor());
    vote.put("committed", m.vote().committed());
    out.put("vote", vote);
    out.put("last_log", logId(m.lastLogId()));
    out.put("flushed", logId(m.flushedLogId()));
    out.put("committed", logId(m.committed()));
    out.put("last_applied", logId(m.lastApplied()));
    final StoredMembership sm = m.membership();
    final Map<String, Object> membership = new LinkedHashMap<>();
    membership.put("log_id", logId(sm.logId()));
    if (sm.membership() != null) {
      membership.put("voter_sets", new ArrayList<>(sm.membership().configs()));
      membership.put("learners", sm.membership().learnerIds());
      membership.put("nodes", sm.membership().nodes());
    }
    membership.put("joint", m.isJoint());
    out.put("membership", membership);
    out.put("replication", new TreeMap<>(m.replication()));
    final Map<Long, Long> lag = new TreeMap<>();
    for (final Long id : m.replication().keySet()) {
      lag.put(id, m.lag(id));
    }
    out.put("lag", lag);
    final long sinceAck = m.millisSinceQuorumAck();
    out.put("millis_since_quorum_ack", sinceAck < 0 ? null : sinceAck);
    out.put("fatal_error", m.fatalError());
    if (stateMachine != null) {
      out.put("kv_keys", stateMachine.size());
    }
    if (httpPeers != null) {
      out.put("http_peers", httpPeers);
    }
    return out;
  }

  private static Map<String, Object> logId(final LogId id) {
    final Map<String, Object> out = new LinkedHashMap<>();
    out.put("term", id.term());
    out.put("index", id.index());
    return out;
  }

  /** A JSON response with the given status and body. */
  static FullHttpResponse json(final HttpResponseStatus status, final Object body) {
    final byte[] bytes = (Json.encode(body) + "\n").getBytes(StandardCharsets.UTF_8);
    final FullHttpResponse r =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    return r;
  }

  /** Writes {@code response}; closes the connection after it unless {@code keepAlive}. Any thread. */
  private static void send(final ChannelHandlerContext ctx, final boolean keepAlive, final FullHttpResponse response) {
    HttpUtil.setKeepAlive(response, keepAlive);
    if (keepAlive) {
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    } else {
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
    LOG.debug("HTTP connection {} failed", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }
}
