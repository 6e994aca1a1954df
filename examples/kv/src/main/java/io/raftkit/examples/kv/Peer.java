package io.raftkit.examples.kv;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One node of the cluster as the command line names it: {@code id=raftHost:port@httpHost:port}.
 *
 * @param id the node id, {@code > 0}
 * @param raftAddress where its Raft transport listens ({@code host:port} for {@code netty})
 * @param httpAddress where its HTTP API listens ({@code host:port})
 */
record Peer(long id, String raftAddress, String httpAddress) {

  /** Validates the fields. */
  Peer {
    if (id <= 0) {
      throw new IllegalArgumentException("node id=" + id + " must be > 0");
    }
    checkHostPort(raftAddress, "raft address", false);
    checkHostPort(httpAddress, "http address", false);
  }

  /**
   * Parses {@code 1=127.0.0.1:7001@127.0.0.1:8001,2=...}.
   *
   * @return the peers by id, ordered
   * @throws IllegalArgumentException naming the part that is wrong
   */
  static Map<Long, Peer> parseList(final String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("peers must not be empty");
    }
    final Map<Long, Peer> peers = new TreeMap<>();
    for (final String part : text.split(",", -1)) {
      final int eq = part.indexOf('=');
      final int at = part.lastIndexOf('@');
      if (eq <= 0 || at < eq) {
        throw new IllegalArgumentException(
            "peer='" + part + "' must look like id=raftHost:port@httpHost:port");
      }
      final long id;
      try {
        id = Long.parseLong(part.substring(0, eq).trim());
      } catch (final NumberFormatException e) {
        throw new IllegalArgumentException("peer='" + part + "' has a bad id: " + part.substring(0, eq));
      }
      final Peer peer;
      try {
        peer = new Peer(id, part.substring(eq + 1, at).trim(), part.substring(at + 1).trim());
      } catch (final IllegalArgumentException e) {
        throw new IllegalArgumentException("peer='" + part + "': " + e.getMessage(), e);
      }
      if (peers.put(id, peer) != null) {
        throw new IllegalArgumentException("peer id=" + id + " appears twice");
      }
    }
    return Collections.unmodifiableMap(peers);
  }

  /** Formats peers the way {@link #parseList} reads them. */
  static String formatList(final Map<Long, Peer> peers) {
    final StringBuilder out = new StringBuilder();
    for (final Peer p : peers.values()) {
      if (out.length() > 0) {
        out.append(',');
      }
      out.append(p.id).append('=').append(p.raftAddress).append('@').append(p.httpAddress);
    }
    return out.toString();
  }

  /**
   * Checks {@code host:port} (IPv6 hosts in brackets).
   *
   * @param allowPortZero whether port 0 (ephemeral) is allowed
   * @return the port
   * @throws IllegalArgumentException naming {@code what}
   */
  static int checkHostPort(final String address, final String what, final boolean allowPortZero) {
    if (address == null || address.isBlank()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    final int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException(what + "='" + address + "' must be host:port");
    }
    final int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (final NumberFormatException e) {
      throw new IllegalArgumentException(what + "='" + address + "' has a bad port");
    }
    if (port < (allowPortZero ? 0 : 1) || port > 65535) {
      throw new IllegalArgumentException(
          what + "='" + address + "': port=" + port + " must be in " + (allowPortZero ? 0 : 1) + "..65535");
    }
    return port;
  }

  /** The host part of {@code host:port}, without IPv6 brackets. */
  static String host(final String address) {
    final String host = address.substring(0, address.lastIndexOf(':'));
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  /** The port part of {@code host:port}. */
  static int port(final String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }
}
