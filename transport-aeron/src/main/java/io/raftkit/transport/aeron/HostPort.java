package io.raftkit.transport.aeron;

/**
 * A parsed {@code "host:port"} address; an IPv6 host is written in brackets ({@code "[::1]:9000"}).
 *
 * @param host the host name or IP literal, without brackets
 * @param port the port, 0..65535 (0 only for binding: an ephemeral port)
 */
record HostPort(String host, int port) {

  /**
   * Parses an address.
   *
   * @throws IllegalArgumentException naming the address if it is not {@code host:port}
   */
  static HostPort parse(final String address) {
    final int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException("address=" + address + " is not host:port");
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    final int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (final NumberFormatException e) {
      throw new IllegalArgumentException("address=" + address + " has no numeric port", e);
    }
    if (port < 0 || port > 65_535 || host.isBlank()) {
      throw new IllegalArgumentException("address=" + address + " needs a host and a port in 0..65535");
    }
    return new HostPort(host, port);
  }

  /** The address in {@code host:port} form, bracketing an IPv6 host. */
  String format(final int actualPort) {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + actualPort;
  }
}
