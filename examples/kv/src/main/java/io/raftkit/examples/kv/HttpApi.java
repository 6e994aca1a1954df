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
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import io.raftkit.api.LogId;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.WriteResult;
import io.raftkit.api.error.AlreadyInitializedException;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.NotAMemberException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.OverloadedException;
import io.raftkit.api.error.ShutdownException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 *   <tr><td>{@code GET /kv/{key}[?consistency=linearizable|local]}</td><td>reads the key:
 *       {@code linearizable} (default) goes through the log on the leader; {@code local} reads
 *       this node's state machine and says {@code "stale_possible":true}</td></tr>
 *   <tr><td>{@code DELETE /kv/{key}}</td><td>removes the key (leader only)</td></tr>
 *   <tr><td>{@code POST /kv/{key}/cas} {@code {"expected":"a"|null,"value":"b"}}</td><td>sets the
 *       key if its value is {@code expected} ({@code null}: absent); 409 with the current value if
 *       not</td></tr>
 *   <tr><td>{@code POST /admin/init}</td><td>forms the cluster of the configured peers</td></tr>
 *   <tr><td>{@code GET /admin/metrics}</td><td>this node's {@link RaftMetrics}</td></tr>
 *   <tr><td>{@code POST /admin/learners}, {@code /admin/membership}, {@code
 *       /admin/transfer-leader}, {@code /admin/snapshot}</td><td>501: the engine lacks these</td></tr>
 * </table>
 *
 * <p>Keys are one path segment, percent-encoded (a {@code /} in a key is {@code %2F}); see {@link
 * KvCommand#keyProblem}. A request that needs the leader, sent to a follower, is answered 307
 * with {@code Location} at the leader's HTTP address (the same method and body apply there).
 *
 * <p>Stateless and shared by every connection. Never blocks the event loop: requests that go
 * through the log are answered when their entry applies, or after the write timeout (504: the
 * outcome is unknown).
 */
@ChannelHandler.Sharable
final class HttpApi extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
  private static final AttributeKey<CompletableFuture<Void>> TAIL = AttributeKey.valueOf("raftkit.kv.responseTail");

  /** The admin paths of features the engine does not have yet, and what each lacks. */
  private static final Map<String, String> NOT_IMPLEMENTED =
      Map.of(
          "/admin/learners", "adding a learner (membership changes after initialize)",
          "/admin/membership", "changing membership (membership changes after initialize)",
          "/admin/transfer-leader", "leadership transfer",
          "/admin/snapshot", "snapshots");

  private final KvNode.Settings settings;
  private final Raft<KvResult> raft;
  private final KvStateMachine stateMachine;

  HttpApi(final KvNode.Settings settings, final Raft<KvResult> raft, final KvStateMachine stateMachine) {
    this.settings = settings;
    this.raft = raft;
    this.stateMachine = stateMachine;
  }

  /** A request refused with a 4xx (or 501) answer; nothing was proposed. */
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
      answer = route(request).handle((response, failure) -> response != null ? response : failure(uri, failure));
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
   * responses in request order. Runs on the event loop, so the tail needs no lock.
   */
  private static void reply(
      final ChannelHandlerContext ctx, final boolean keepAlive, final CompletableFuture<FullHttpResponse> answer) {
    final Attribute<CompletableFuture<Void>> tail = ctx.channel().attr(TAIL);
    final CompletableFuture<Void> previous = tail.get() == null ? CompletableFuture.completedFuture(null) : tail.get();
    tail.set(previous.thenCombine(answer, (v, response) -> response).thenAccept(r -> send(ctx, keepAlive, r)));
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
        return raft.initialize(settings.initialMembership()).thenApply(ok -> initialized());
      case "/admin/metrics":
        allow(method, "GET");
        noQuery(uri);
        return CompletableFuture.completedFuture(
            json(HttpResponseStatus.OK, metricsJson(raft.metrics(), stateMachine)));
      default:
        final String feature = NOT_IMPLEMENTED.get(path);
        if (feature != null) {
          allow(method, "POST");
          throw new Refused(
              HttpResponseStatus.NOT_IMPLEMENTED,
              "not implemented: the raftkit engine does not support " + feature + " yet",
              Map.of("feature", feature));
        }
        throw new Refused(HttpResponseStatus.NOT_FOUND, "no such route: " + path);
    }
  }

  private CompletableFuture<FullHttpResponse> get(final String key, final QueryStringDecoder uri)
      throws Refused {
    String consistency = "linearizable";
    for (final Map.Entry<String, List<String>> p : uri.parameters().entrySet()) {
      if (!p.getKey().equals("consistency") || p.getValue().size() != 1) {
        throw new Refused(
            HttpResponseStatus.BAD_REQUEST,
            "unknown or repeated query parameter=" + p.getKey() + "; only consistency=linearizable|local is accepted");
      }
      consistency = p.getValue().get(0);
    }
    switch (consistency) {
      case "linearizable":
        return propose(KvCommand.get(key), r -> {
          final Map<String, Object> body = new LinkedHashMap<>();
          body.put("key", key);
          body.put("value", r.response().value());
          body.put("consistency", "linearizable");
          body.put("node", settings.id());
          body.put("log_index", r.logId().index());
          if (!r.response().ok()) {
            body.put("error", "key not found");
            return json(HttpResponseStatus.NOT_FOUND, body);
          }
          return json(HttpResponseStatus.OK, body);
        });
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
      case "lease":
      case "read_index":
        throw new Refused(
            HttpResponseStatus.NOT_IMPLEMENTED,
            "not implemented: consistency=" + consistency
                + " needs read index / lease reads, which the raftkit engine does not support yet;"
                + " use linearizable (through the log) or local",
            Map.of("feature", "read index and lease reads"));
      default:
        throw new Refused(
            HttpResponseStatus.BAD_REQUEST,
            "consistency=" + consistency + " must be linearizable or local");
    }
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

  /** Maps a failed proposal or initialize to an answer. */
  private FullHttpResponse failure(final String uri, final Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    final Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", String.valueOf(cause.getMessage()));
    body.put("node", settings.id());
    if (cause instanceof NotLeaderException nle) {
      final String leaderHttp = nle.leaderId() == 0 ? null : settings.httpAddressOf(nle.leaderId());
      if (leaderHttp == null) {
        body.put("error", "not the leader, and no leader is known; retry later");
        body.put("leader_id", nle.leaderId() == 0 ? null : nle.leaderId());
        final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        return r;
      }
      final String location = "http://" + leaderHttp + uri;
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
      return json(HttpResponseStatus.BAD_REQUEST, body);
    }
    if (cause instanceof OverloadedException || cause instanceof ShutdownException) {
      final FullHttpResponse r = json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
      return r;
    }
    if (cause instanceof TimeoutException) {
      body.put("error", "no answer within writeTimeout=" + settings.writeTimeout()
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

  /** The metrics of a node, plus its key count, as a JSON-ready map. */
  static Map<String, Object> metricsJson(final RaftMetrics m, final KvStateMachine stateMachine) {
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
    out.put("membership", membership);
    out.put("replication", new TreeMap<>(m.replication()));
    out.put("fatal_error", m.fatalError());
    if (stateMachine != null) {
      out.put("kv_keys", stateMachine.size());
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
