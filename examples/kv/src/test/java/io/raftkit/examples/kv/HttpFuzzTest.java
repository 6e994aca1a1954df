package io.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.raftkit.api.LogId;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.StoredMembership;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Randomized bad requests against a live node (a one-node cluster: netty transport, memory
 * storage), sent over raw sockets so that anything can be malformed: broken and wrong-typed JSON,
 * bodies over the 1 MiB limit, invalid keys, unknown routes, wrong methods, bad headers and
 * framing, truncated bodies, bad query parameters. Every request must be answered with a 4xx and a
 * flat JSON {@code {"error":...}}; a truncated body (the client half-closes before the announced
 * length) may instead be answered by closing the connection. Afterwards the node has not changed
 * (log, applied index, data, membership), still serves valid requests and has no fatal error.
 *
 * <p>{@link HttpApiTest} checks one example of each refusal and its message; this test checks the
 * whole space by seeded random generation. Every request is generated to be invalid, so a 2xx is
 * a bug (or a generator bug): the failure names the seed and the request.
 */
class HttpFuzzTest {

  private static final long SEED = 0x5EED_2026L;
  private static final int REQUESTS = 1000;
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  /** How a request is malformed; each is drawn with a weight. */
  enum Kind {
    TRUNCATED_JSON, WRONG_TYPED_JSON, GARBAGE_BODY, UNKNOWN_MEMBER, TRAILING_DATA, BAD_UTF8_VALUE, OVERSIZED_BODY,
    INVALID_KEY, UNKNOWN_ROUTE, WRONG_METHOD, BAD_HEADER, BAD_FRAMING, TRUNCATED_BODY, BAD_QUERY, BODY_WHERE_NONE
  }

  /** A generated request: what it is (for failure messages), its bytes, how it may be answered. */
  record Fuzz(Kind kind, String description, byte[] bytes, boolean halfClose) {}

  private KvNode node;

  @BeforeEach
  void startNode() throws Exception {
    final List<Integer> ports = FreePorts.pick(2);
    final Map<Long, Peer> alone = Map.of(1L, new Peer(1, "127.0.0.1:" + ports.get(0), "127.0.0.1:" + ports.get(1)));
    node = KvNode.start(KvNode.Settings.of(1, "netty", "memory", null, alone));
    node.initialize().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    node.raft().awaitMetrics(RaftMetrics::isLeader, TIMEOUT).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    for (final String key : List.of("a", "b", "c")) {
      final Response r = exchange(request("PUT", "/kv/" + key, "{\"value\":\"v-" + key + "\"}", "Connection: close"),
          false);
      assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }
    // A PUT is answered once applied, before the engine has published that in its metrics: wait
    // until they say so, or the test's baseline may miss the last PUT (seen once in CI).
    node.raft().awaitMetrics(m -> m.lastApplied().equals(m.lastLogId()), TIMEOUT)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  @AfterEach
  void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void shouldAnswerEveryMalformedRequestWith4xxJsonAndChangeNothing() throws Exception {
    final LogId lastLog = node.raft().metrics().lastLogId();
    final LogId applied = node.raft().metrics().lastApplied();
    final Map<String, String> data = node.stateMachine().copy();
    final StoredMembership membership = node.raft().metrics().membership();
    final Random random = new Random(SEED);
    final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
    final Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    int closedWithoutAnswer = 0;

    for (int i = 0; i < REQUESTS; i++) {
      final Fuzz fuzz = generate(random);
      counts.merge(fuzz.kind(), 1, Integer::sum);
      final String what = "seed=" + SEED + " request #" + i + " (" + fuzz.kind() + "): " + fuzz.description();
      final Response r;
      try {
        r = exchange(fuzz.bytes(), fuzz.halfClose());
      } catch (final IOException e) {
        throw new AssertionError(what + ": " + e, e);
      }
      if (r == null) {
        // Only a request whose body the client cut short may go unanswered (framing errors are
        // half-closed too, so that one the decoder ignored would show up here, not as a hang).
        assertThat(fuzz.kind()).as("%s: connection closed without an answer", what).isEqualTo(Kind.TRUNCATED_BODY);
        closedWithoutAnswer++;
        continue;
      }
      statuses.merge(r.status(), 1, Integer::sum);
      assertThat(r.status()).as("%s -> %s", what, r).isBetween(400, 499);
      assertThat(r.header("content-type")).as("%s -> %s", what, r).isEqualTo("application/json; charset=utf-8");
      final Map<String, Object> body;
      try {
        body = Json.parseObject(r.body().strip().getBytes(StandardCharsets.UTF_8));
      } catch (final Json.JsonException e) {
        throw new AssertionError(what + " -> " + r + ": the body is not a flat JSON object: " + e.getMessage(), e);
      }
      assertThat(body).as("%s -> %s", what, r).containsKey("error");
    }

    assertThat(counts).as("every kind drawn").hasSize(Kind.values().length);
    assertThat(node.raft().metrics().lastLogId()).as("log").isEqualTo(lastLog);
    assertThat(node.raft().metrics().lastApplied()).as("applied").isEqualTo(applied);
    assertThat(node.stateMachine().copy()).as("data").isEqualTo(data);
    assertThat(node.raft().metrics().membership()).as("membership").isEqualTo(membership);
    assertThat(node.raft().metrics().fatalError()).isNull();
    // Still serving, and the write goes through.
    final Response put = exchange(request("PUT", "/kv/after", "{\"value\":\"fuzz\"}", "Connection: close"), false);
    assertThat(put.status()).as(put.toString()).isEqualTo(200);
    assertThat(node.stateMachine().get("after")).isEqualTo("fuzz");
    System.out.printf("HttpFuzzTest: %d requests by kind %s, statuses %s, %d truncated closed without answer%n",
        REQUESTS, counts, statuses, closedWithoutAnswer);
  }

  // ------------------------------------------------------------------------------ generation

  private static final String[] JSON_ROUTES = {"/kv/k", "/kv/k/cas", "/admin/learners", "/admin/membership",
      "/admin/transfer-leader"};
  private static final String[] VALID_BODIES = {
      "{\"value\":\"v\"}",
      "{\"expected\":null,\"value\":\"v\"}",
      "{\"id\":9,\"raft\":\"127.0.0.1:1\",\"http\":\"127.0.0.1:2\",\"blocking\":false}",
      "{\"op\":\"add_voters\",\"ids\":[9],\"retain\":true}",
      "{\"id\":9}"};

  private static Fuzz generate(final Random r) {
    final Kind kind = Kind.values()[r.nextInt(Kind.values().length)];
    final int route = r.nextInt(JSON_ROUTES.length);
    final String path = JSON_ROUTES[route];
    final String method = path.equals("/kv/k") ? "PUT" : "POST";
    final String valid = VALID_BODIES[route];
    switch (kind) {
      case TRUNCATED_JSON -> {
        // Every proper prefix of an object is incomplete JSON (the empty one is an empty body).
        final String body = valid.substring(0, r.nextInt(valid.length()));
        return body(kind, method, path, body.getBytes(StandardCharsets.UTF_8), r);
      }
      case WRONG_TYPED_JSON -> {
        final String member = path.equals("/kv/k") || path.equals("/kv/k/cas") ? "value"
            : path.equals("/admin/membership") ? "ids" : "id";
        final String[] values = switch (member) {
          case "value" -> new String[] {"1", "-0.5e3", "true", "false", "null", "[]", "[\"v\"]", "{}", "{\"a\":1}"};
          case "ids" -> new String[] {"9", "[]", "[0]", "[-1]", "[\"9\"]", "[1.5]", "[true]", "{}", "null", "[[9]]"};
          default -> new String[] {"\"9\"", "0", "-1", "1.5", "1e3", "true", "[]", "[9]", "{}", "null"};
        };
        final String v = values[r.nextInt(values.length)];
        final String body = valid.replaceFirst("\"" + member + "\":(\\[[^]]*]|\"[^\"]*\"|[^,}]*)", "\"" + member
            + "\":" + v);
        return body(kind, method, path, body.getBytes(StandardCharsets.UTF_8), r);
      }
      case GARBAGE_BODY -> {
        final byte[] garbage = new byte[1 + r.nextInt(200)];
        r.nextBytes(garbage);
        // Not an object: the first byte is neither '{' nor whitespace.
        final String firsts = "[]\"x0-tfn\u0001\u00ff";
        garbage[0] = (byte) firsts.charAt(r.nextInt(firsts.length()));
        return body(kind, method, path, garbage, r);
      }
      case UNKNOWN_MEMBER -> {
        final String body = valid.substring(0, valid.length() - 1) + ",\"" + word(r, 1 + r.nextInt(10)) + "_\":"
            + (r.nextBoolean() ? "1" : "\"x\"") + "}";
        return body(kind, method, path, body.getBytes(StandardCharsets.UTF_8), r);
      }
      case TRAILING_DATA -> {
        final String[] tails = {"x", "{}", ",", "]", "}", "\"\"", "null", "{\"value\":\"w\"}"};
        final String body = valid + (r.nextBoolean() ? " " : "") + tails[r.nextInt(tails.length)];
        return body(kind, method, path, body.getBytes(StandardCharsets.UTF_8), r);
      }
      case BAD_UTF8_VALUE -> {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("{\"value\":\"".getBytes(StandardCharsets.UTF_8));
        final byte[][] bad = {{(byte) 0xFF}, {(byte) 0xC3, 0x28}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xED, (byte) 0xA0,
            (byte) 0x80}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}};
        b.writeBytes(word(r, r.nextInt(5)).getBytes(StandardCharsets.UTF_8));
        b.writeBytes(bad[r.nextInt(bad.length)]);
        b.writeBytes("\"}".getBytes(StandardCharsets.UTF_8));
        return body(kind, "PUT", "/kv/k", b.toByteArray(), r);
      }
      case OVERSIZED_BODY -> {
        final int size = HttpServer.MAX_BODY_BYTES + 1 + r.nextInt(64 * 1024);
        final byte[] body = new byte[size];
        java.util.Arrays.fill(body, (byte) 'x');
        final byte[] prefix = "{\"value\":\"".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(prefix, 0, body, 0, prefix.length);
        body[size - 2] = '"';
        body[size - 1] = '}';
        // Keep-alive: the server answers 413 at once and discards the rest of the body, so the
        // whole body can be written and the answer read (with Connection: close it would close
        // the connection while the body is still being written).
        return new Fuzz(kind, "PUT /kv/k with a " + size + "-byte body",
            concat(("PUT /kv/k HTTP/1.1\r\nHost: fuzz\r\nContent-Length: " + size + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII), body), false);
      }
      case INVALID_KEY -> {
        final String[] keys = {"", "%00", "a%0Ab", "%7F", "x%1Fy", "%FF", "%C3%28", "%E2%82", "%zz", "%2", "%",
            "k".repeat(257 + r.nextInt(200)), "%F0%9F%98".repeat(1 + r.nextInt(3)), "a/b", "a/b/c/d"};
        final String key = keys[r.nextInt(keys.length)];
        final String[] methods = {"GET", "PUT", "DELETE"};
        final String m = methods[r.nextInt(methods.length)];
        final String body = m.equals("PUT") ? "{\"value\":\"v\"}" : null;
        return new Fuzz(kind, m + " /kv/" + key, request(m, "/kv/" + key, body, "Connection: close"), false);
      }
      case UNKNOWN_ROUTE -> {
        final String[] prefixes = {"/", "/kv/k/", "/admin/", "/api/", "/kv/k/cas/", "/admin/metrics/"};
        final String p = prefixes[r.nextInt(prefixes.length)] + "zz-" + word(r, 1 + r.nextInt(12));
        final String[] methods = {"GET", "PUT", "POST", "DELETE"};
        final String m = methods[r.nextInt(methods.length)];
        return new Fuzz(kind, m + " " + p, request(m, p, m.equals("GET") ? null : "{}", "Connection: close"), false);
      }
      case WRONG_METHOD -> {
        final String[][] wrong = {
            {"/kv/k", "POST", "PATCH", "OPTIONS", "TRACE", "FROB"},
            {"/kv/k/cas", "GET", "PUT", "DELETE", "PATCH"},
            {"/admin/metrics", "POST", "PUT", "DELETE"},
            {"/admin/init", "GET", "PUT", "DELETE"},
            {"/admin/membership", "GET", "PUT", "DELETE"},
            {"/admin/learners", "GET", "PUT"},
            {"/admin/transfer-leader", "GET", "DELETE"},
            {"/admin/snapshot", "GET", "PUT"}};
        final String[] row = wrong[r.nextInt(wrong.length)];
        final String m = row[1 + r.nextInt(row.length - 1)];
        return new Fuzz(kind, m + " " + row[0], request(m, row[0], r.nextBoolean() ? "{\"value\":\"v\"}" : null,
            "Connection: close"), false);
      }
      case BAD_HEADER -> {
        final String[] headers = {
            "Content-Length: abc", "Content-Length: -5", "Content-Length: 12\r\nContent-Length: 13",
            "NoColonHeader", "Bad Header: x", "X-Huge: " + "h".repeat(9000 + r.nextInt(4000)),
            "Expect: 42-continue", "Transfer-Encoding: gzip, chunked, identity", "Content-Length: 99999999999999999999"};
        final String h = headers[r.nextInt(headers.length)];
        final String body = "{\"value\":\"v\"}";
        final byte[] bytes = concat(
            ("PUT /kv/k HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n" + h + "\r\n"
                + (h.startsWith("Content-Length") || h.startsWith("Transfer-Encoding") ? ""
                    : "Content-Length: " + body.length() + "\r\n")
                + "\r\n").getBytes(StandardCharsets.UTF_8),
            body.getBytes(StandardCharsets.UTF_8));
        return new Fuzz(kind, "PUT /kv/k with header " + abbreviate(h), bytes, false);
      }
      case BAD_FRAMING -> {
        final String[] lines = {
            "PUT /kv/k HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            "PUT /kv/" + "k".repeat(5000) + " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n",
            "PUT /kv/k HTTP/9.9\r\nHost: fuzz\r\nConnection: close\r\n\r\n",
            "PUT\r\n\r\n",
            "PUT /kv/k\r\n\r\n",
            "\u0001\u0002\u0003 / HTTP/1.1\r\n\r\n",
            "GET /kv/k HTTP/1.1 extra\r\nHost: fuzz\r\n\r\n",
            word(r, 1 + r.nextInt(30)) + "\r\n\r\n"};
        final String text = lines[r.nextInt(lines.length)];
        return new Fuzz(kind, abbreviate(text), text.getBytes(StandardCharsets.ISO_8859_1), true);
      }
      case TRUNCATED_BODY -> {
        final String body = VALID_BODIES[route];
        final int sent = r.nextInt(body.length());
        final byte[] bytes = concat(head(method, path, "Content-Length: " + body.length()),
            body.substring(0, sent).getBytes(StandardCharsets.UTF_8));
        return new Fuzz(kind, method + " " + path + " announcing " + body.length() + " bytes, sending " + sent
            + " and half-closing", bytes, true);
      }
      case BAD_QUERY -> {
        final String[] queries = {"consistency=zz" + word(r, 3), "consistency=", "consistency=local&consistency=lease",
            "limit=1", "zz" + word(r, 5) + "=1", "consistency=LOCAL"};
        final String q = queries[r.nextInt(queries.length)];
        final boolean write = r.nextBoolean();
        return new Fuzz(kind, (write ? "PUT" : "GET") + " /kv/a?" + q,
            request(write ? "PUT" : "GET", "/kv/a?" + q, write ? "{\"value\":\"v\"}" : null, "Connection: close"),
            false);
      }
      case BODY_WHERE_NONE -> {
        final String[][] routes = {{"DELETE", "/kv/a"}, {"POST", "/admin/init"}};
        final String[] m = routes[r.nextInt(routes.length)];
        final String body = r.nextBoolean() ? "{\"value\":\"v\"}" : word(r, 1 + r.nextInt(20));
        return new Fuzz(kind, m[0] + " " + m[1] + " with a body", request(m[0], m[1], body, "Connection: close"),
            false);
      }
      default -> throw new IllegalStateException(kind.toString());
    }
  }

  /** {@code body} sent with Content-Length, or (sometimes) chunked. */
  private static Fuzz body(final Kind kind, final String method, final String path, final byte[] body,
      final Random r) {
    final String shown = method + " " + path + " " + abbreviate(new String(body, StandardCharsets.UTF_8));
    if (r.nextInt(4) == 0 && body.length > 0) {
      final ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.writeBytes(head(method, path, "Transfer-Encoding: chunked"));
      int at = 0;
      while (at < body.length) {
        final int n = Math.min(body.length - at, 1 + r.nextInt(40));
        b.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        b.write(body, at, n);
        b.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        at += n;
      }
      b.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return new Fuzz(kind, shown + " (chunked)", b.toByteArray(), false);
    }
    return new Fuzz(kind, shown, concat(head(method, path, "Content-Length: " + body.length), body), false);
  }

  private static byte[] head(final String method, final String path, final String framing) {
    return (method + " " + path + " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n" + framing + "\r\n\r\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] request(final String method, final String path, final String body, final String header) {
    final byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    return concat((method + " " + path + " HTTP/1.1\r\nHost: fuzz\r\n" + header + "\r\n"
        + (body == null ? "" : "Content-Length: " + b.length + "\r\n") + "\r\n").getBytes(StandardCharsets.UTF_8), b);
  }

  private static String word(final Random r, final int length) {
    final StringBuilder b = new StringBuilder();
    for (int i = 0; i < length; i++) {
      b.append((char) ('a' + r.nextInt(26)));
    }
    return b.toString();
  }

  private static byte[] concat(final byte[] a, final byte[] b) {
    final byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static String abbreviate(final String s) {
    final String printable = s.replace("\r", "\\r").replace("\n", "\\n");
    return printable.length() <= 120 ? printable : printable.substring(0, 120) + "...(" + s.length() + " chars)";
  }

  // ------------------------------------------------------------------------------ exchange

  /** A parsed response. */
  record Response(int status, Map<String, String> headers, String body) {
    String header(final String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
      return status + " " + headers + " " + abbreviate(body);
    }
  }

  /**
   * Sends {@code bytes} on a new connection (half-closing it after them if asked) and reads one
   * response, or returns {@code null} if the server closed the connection without one.
   */
  private Response exchange(final byte[] bytes, final boolean halfClose) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Peer.port(node.httpAddress()))) {
      s.setSoTimeout((int) TIMEOUT.toMillis());
      final OutputStream out = s.getOutputStream();
      out.write(bytes);
      out.flush();
      if (halfClose) {
        s.shutdownOutput();
      }
      return readResponse(s.getInputStream());
    }
  }

  private static Response readResponse(final InputStream in) throws IOException {
    final ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    try {
      while (matched < 4) {
        final int b = in.read();
        if (b < 0) {
          if (head.size() == 0) {
            return null;
          }
          throw new IOException("connection closed inside the response head: " + head);
        }
        head.write(b);
        matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
      }
    } catch (final SocketException e) {
      if (head.size() == 0) {
        return null; // reset before any answer
      }
      throw e;
    }
    final String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    final String[] statusLine = lines[0].split(" ", 3);
    if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP response: " + lines[0]);
    }
    final Map<String, String> headers = new java.util.TreeMap<>();
    for (int i = 1; i < lines.length; i++) {
      final int colon = lines[i].indexOf(':');
      if (colon > 0) {
        headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
      }
    }
    final String length = headers.get("content-length");
    if (length == null) {
      fail("response without Content-Length: " + head);
    }
    final byte[] body = in.readNBytes(Integer.parseInt(length));
    return new Response(Integer.parseInt(statusLine[1]), headers, new String(body, StandardCharsets.UTF_8));
  }
}
