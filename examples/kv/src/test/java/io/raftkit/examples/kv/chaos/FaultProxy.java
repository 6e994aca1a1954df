package io.raftkit.examples.kv.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy for one directed link of the cluster: node {@code src} dials node {@code dst}
 * through it ({@code serve --peer-route dst=<this proxy>}), so every byte on connections that
 * {@code src} opens to {@code dst} passes here. The netty transport has each side of a pair dial
 * the other for its own requests, so such a connection carries {@code src}'s requests forward and
 * {@code dst}'s responses backward. Each direction has a {@link Gate}: a blocked gate stops
 * forwarding (the pump stops reading, TCP pushes back on the sender) until it opens again, like a
 * firewall dropping packets that TCP retransmits after the partition heals; nothing is reordered,
 * corrupted or dropped in the middle of a frame. A link {@code a -> b} is cut by blocking the
 * forward gate of proxy (a,b) and the backward gate of proxy (b,a).
 *
 * <p>New connections are accepted and connected to {@code dst} even while a gate is blocked (the
 * handshake bytes then wait at the gate). When either end closes or fails, both sockets close,
 * so a killed node's connections reset as they would without the proxy.
 */
final class FaultProxy implements AutoCloseable {

  /** One direction's switch. */
  static final class Gate {
    private boolean blocked;
    private boolean closed;

    synchronized void set(final boolean block) {
      blocked = block;
      if (!block) {
        notifyAll();
      }
    }

    synchronized boolean blocked() {
      return blocked;
    }

    synchronized void close() {
      closed = true;
      notifyAll();
    }

    /** Returns once the gate is open; {@code false} if the proxy closed meanwhile. */
    synchronized boolean awaitOpen() throws InterruptedException {
      while (blocked && !closed) {
        wait();
      }
      return !closed;
    }
  }

  final long src;
  final long dst;
  /** Bytes from {@code src} to {@code dst} ({@code src}'s requests). */
  final Gate forward = new Gate();
  /** Bytes from {@code dst} to {@code src} ({@code dst}'s responses). */
  final Gate backward = new Gate();
  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /** Listens on an ephemeral loopback port and forwards to {@code targetPort} on loopback. */
  FaultProxy(final long src, final long dst, final int targetPort) throws IOException {
    this.src = src;
    this.dst = dst;
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    final Thread t = new Thread(this::acceptLoop, "proxy-" + src + "-" + dst);
    t.setDaemon(true);
    t.start();
  }

  /** The address nodes dial. */
  String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  private void acceptLoop() {
    while (!closed) {
      final Socket from;
      try {
        from = server.accept();
      } catch (final IOException e) {
        return; // closed
      }
      final Socket to = new Socket();
      try {
        from.setTcpNoDelay(true);
        to.setTcpNoDelay(true);
        to.connect(target, 1000);
      } catch (final IOException e) {
        closeQuietly(from);
        closeQuietly(to);
        continue; // dst is down: the dialer sees the connection close at once
      }
      sockets.add(from);
      sockets.add(to);
      pump(from, to, forward, "fwd");
      pump(to, from, backward, "bwd");
    }
  }

  private void pump(final Socket in, final Socket out, final Gate gate, final String dir) {
    final Thread t = new Thread(() -> {
      final byte[] buf = new byte[64 * 1024];
      try {
        final InputStream is = in.getInputStream();
        final OutputStream os = out.getOutputStream();
        while (true) {
          final int n = is.read(buf);
          if (n < 0 || !gate.awaitOpen()) {
            break;
          }
          os.write(buf, 0, n);
        }
      } catch (final IOException | InterruptedException e) {
        // a side closed or reset: close both
      } finally {
        closeQuietly(in);
        closeQuietly(out);
        sockets.remove(in);
        sockets.remove(out);
      }
    }, "proxy-" + src + "-" + dst + "-" + dir);
    t.setDaemon(true);
    t.start();
  }

  /** Closes every connection through this proxy (both ends see a reset or an end of stream). */
  void resetConnections() {
    for (final Socket s : sockets) {
      closeQuietly(s);
    }
  }

  @Override
  public void close() {
    closed = true;
    forward.close();
    backward.close();
    closeQuietly(server);
    resetConnections();
  }

  private static void closeQuietly(final AutoCloseable c) {
    try {
      c.close();
    } catch (final Exception e) {
      // closing anyway
    }
  }
}
