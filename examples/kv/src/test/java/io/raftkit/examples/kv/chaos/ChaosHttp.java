package io.raftkit.examples.kv.chaos;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 client connection to one node, kept alive between requests, that tells the
 * two ways a request can fail apart: {@link NotSent} (the request never left: connection refused,
 * or a kept-alive connection the server had closed, found closed before writing) and {@link
 * MaybeSent} (it was written, and no answer came: the server may or may not have acted on it).
 * The JDK's client does not say which, and a chaos history needs to know. Not thread-safe: one per
 * client thread and node.
 */
final class ChaosHttp implements AutoCloseable {

  /**
   * An answer.
   *
   * @param status the HTTP status
   * @param body the body, UTF-8
   * @param location the {@code Location} header, or {@code null}
   */
  record Response(int status, String body, String location) {}

  /** The request was certainly not delivered. */
  static final class NotSent extends IOException {
    private static final long serialVersionUID = 1L;

    NotSent(final String message, final Throwable cause) {
      super(message, cause);
    }
  }

  /** The request was (or may have been) delivered, and no complete answer came back. */
  static final class MaybeSent extends IOException {
    private static final long serialVersionUID = 1L;

    MaybeSent(final String message, final Throwable cause) {
      super(message, cause);
    }
  }

  private final String host;
  private final int port;
  private SocketChannel channel;
  private InputStream in;
  private OutputStream out;

  /** A connection to {@code host:port}, opened by the first request. */
  ChaosHttp(final String address) {
    final int colon = address.lastIndexOf(':');
    this.host = address.substring(0, colon);
    this.port = Integer.parseInt(address.substring(colon + 1));
  }

  /**
   * Sends one request and reads its answer.
   *
   * @param body the request body, or {@code null}
   * @param timeoutMillis the connect timeout and the longest wait for the answer
   */
  Response send(final String method, final String path, final String body, final int timeoutMillis)
      throws NotSent, MaybeSent {
    ensureOpen(timeoutMillis);
    final byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    final String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
        + "\r\nContent-Type: application/json\r\nContent-Length: " + content.length + "\r\n\r\n";
    try {
      channel.socket().setSoTimeout(timeoutMillis);
      final byte[] h = head.getBytes(StandardCharsets.US_ASCII);
      final byte[] all = new byte[h.length + content.length];
      System.arraycopy(h, 0, all, 0, h.length);
      System.arraycopy(content, 0, all, h.length, content.length);
      out.write(all);
      out.flush();
    } catch (final IOException e) {
      close();
      // Part of it may have reached the server's socket buffer.
      throw new MaybeSent("writing " + method + " " + path + ": " + e, e);
    }
    try {
      return readResponse();
    } catch (final IOException | RuntimeException e) {
      close();
      throw new MaybeSent((e instanceof SocketTimeoutException ? "no answer within " + timeoutMillis + " ms to "
          : "reading the answer to ") + method + " " + path + ": " + e, e);
    }
  }

  private void ensureOpen(final int timeoutMillis) throws NotSent {
    if (channel != null && !stale()) {
      return;
    }
    close();
    try {
      channel = SocketChannel.open();
      channel.socket().setTcpNoDelay(true);
      channel.socket().connect(new InetSocketAddress(host, port), timeoutMillis);
      in = new BufferedInputStream(channel.socket().getInputStream(), 8192);
      out = channel.socket().getOutputStream();
    } catch (final IOException e) {
      close();
      throw new NotSent("connecting to " + host + ":" + port + ": " + e, e);
    }
  }

  /** Whether the kept-alive connection was closed by the server (or has unexpected bytes). */
  private boolean stale() {
    try {
      channel.configureBlocking(false);
      final int n;
      try {
        n = channel.read(ByteBuffer.allocate(1));
      } finally {
        channel.configureBlocking(true);
      }
      return n != 0;
    } catch (final IOException e) {
      return true;
    }
  }

  private Response readResponse() throws IOException {
    final String statusLine = line();
    if (!statusLine.startsWith("HTTP/1.1 ") || statusLine.length() < 12) {
      throw new IOException("bad status line: " + statusLine);
    }
    final int status = Integer.parseInt(statusLine.substring(9, 12));
    int length = -1;
    String location = null;
    boolean close = false;
    while (true) {
      final String header = line();
      if (header.isEmpty()) {
        break;
      }
      final int colon = header.indexOf(':');
      final String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      final String value = header.substring(colon + 1).trim();
      switch (name) {
        case "content-length" -> length = Integer.parseInt(value);
        case "location" -> location = value;
        case "connection" -> close = value.equalsIgnoreCase("close");
        default -> { }
      }
    }
    if (length < 0) {
      throw new IOException("no content-length in the answer (status " + status + ")");
    }
    final byte[] body = in.readNBytes(length);
    if (body.length < length) {
      throw new IOException("the connection closed in the body");
    }
    if (close) {
      close();
    }
    return new Response(status, new String(body, StandardCharsets.UTF_8), location);
  }

  private String line() throws IOException {
    final ByteArrayOutputStream b = new ByteArrayOutputStream(64);
    while (true) {
      final int c = in.read();
      if (c < 0) {
        throw new IOException("the connection closed before the answer was complete");
      }
      if (c == '\n') {
        break;
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (final IOException e) {
        // closing anyway
      }
    }
    channel = null;
    in = null;
    out = null;
  }
}
