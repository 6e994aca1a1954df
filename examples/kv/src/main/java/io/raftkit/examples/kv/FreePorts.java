package io.raftkit.examples.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Picks free TCP ports on the loopback interface by binding them all at once, then releasing them.
 * Another process could take one in between; for a demo and tests on one machine that is rare
 * enough, and the failure is a clear bind error.
 */
final class FreePorts {
  private FreePorts() {}

  /** {@code n} distinct ports free on 127.0.0.1 right now. */
  static List<Integer> pick(final int n) {
    final List<ServerSocket> sockets = new ArrayList<>(n);
    try {
      final List<Integer> ports = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        final ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        sockets.add(s);
        ports.add(s.getLocalPort());
      }
      return ports;
    } catch (final IOException e) {
      throw new UncheckedIOException("could not find " + n + " free ports on loopback", e);
    } finally {
      for (final ServerSocket s : sockets) {
        try {
          s.close();
        } catch (final IOException e) {
          // nothing to do: the port is released anyway when the process exits
        }
      }
    }
  }
}
