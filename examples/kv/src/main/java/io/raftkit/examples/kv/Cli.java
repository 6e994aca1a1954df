package io.raftkit.examples.kv;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the command line into one of the {@link Command}s. A bad command line throws {@link
 * UsageException} naming the option; {@link Main} prints it with {@link #USAGE} and exits 2.
 */
final class Cli {

  /** The usage text. */
  static final String USAGE =
      String.join(
          "\n",
          "usage:",
          "  raft-kv demo [--writes N] [--storage file|rocksdb|memory] [--transport netty|aeron]",
          "      a 3-node cluster in this process on loopback: elect, write, kill the leader, re-elect,",
          "      read everything back, print metrics; temporary data is deleted at the end",
          "  raft-kv serve --id N --peers ID=RAFT_HOST:PORT@HTTP_HOST:PORT,... [--data DIR]",
          "                [--raft HOST:PORT] [--http HOST:PORT] [--transport netty|aeron]",
          "                [--storage file|rocksdb|memory] [--init | --learner]",
          "                [--peer-route ID=HOST:PORT,...]",
          "      one node; --raft/--http bind addresses default to this node's entry in --peers;",
          "      --data is required for file and rocksdb (default storage: file; transport: netty);",
          "      --init forms the cluster of every peer (safe to repeat: a node with a log refuses);",
          "      --learner starts a node that is not in the initial membership: list the initial",
          "      voters plus this node in --peers; it waits until the leader adds it with",
          "      POST /admin/learners (then POST /admin/membership can make it a voter);",
          "      --peer-route dials peer ID at HOST:PORT instead of its Raft address (a proxy",
          "      per link, as the chaos test uses)",
          "      TLS, from PEM files (certificate chain, unencrypted PKCS#8 key, CA certificates):",
          "      --raft-tls-cert F --raft-tls-key F --raft-tls-trust F: mutual TLS between the nodes",
          "      (netty; give every node these); --http-tls-cert F --http-tls-key F: HTTPS;",
          "      --http-client-auth required --http-tls-trust F: HTTPS clients need a certificate",
          "      signed by a CA of F (default --http-client-auth none)",
          "  raft-kv cluster [--dir DIR] [--storage file|rocksdb|memory] [--transport netty|aeron]",
          "                  [--raft-port P] [--http-port P]",
          "      starts 3 serve processes on 127.0.0.1 (raft ports P..P+2, default 7101; http ports",
          "      default 8101..8103) with data under DIR (default: a temporary directory, deleted",
          "      at exit); stops them on Ctrl-C",
          "  raft-kv help",
          "");

  private static final Set<String> TRANSPORTS = Set.of("netty", "aeron");
  private static final Set<String> STORAGES = Set.of("file", "rocksdb", "memory");

  private Cli() {}

  /** A parsed command line. */
  interface Command {}

  /** {@code help} (or no arguments). */
  record Help() implements Command {}

  /**
   * {@code serve}.
   *
   * @param settings the node's settings
   * @param init whether to initialize the cluster at start (never with {@code settings.learner()})
   * @param tls TLS of the Raft links and of the HTTP API
   */
  record Serve(KvNode.Settings settings, boolean init, TlsSettings tls) implements Command {
    /** Without TLS. */
    Serve(final KvNode.Settings settings, final boolean init) {
      this(settings, init, TlsSettings.NONE);
    }
  }

  /**
   * {@code demo}.
   *
   * @param writes how many keys to write
   * @param storage the storage provider name
   * @param transport the transport provider name
   */
  record Demo(int writes, String storage, String transport) implements Command {}

  /**
   * {@code cluster}.
   *
   * @param dir where the nodes keep data and logs, or {@code null} for a temporary directory
   * @param storage the storage provider name
   * @param transport the transport provider name
   * @param raftPort the first node's Raft port (the others follow)
   * @param httpPort the first node's HTTP port (the others follow)
   */
  record Cluster(Path dir, String storage, String transport, int raftPort, int httpPort) implements Command {}

  /** A bad command line: {@link #option()} names what is wrong. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String option;

    UsageException(final String option, final String message) {
      super(message);
      this.option = option;
    }

    /** The option (or command) at fault. */
    String option() {
      return option;
    }
  }

  /**
   * Parses {@code args}.
   *
   * @throws UsageException naming the option that is unknown, missing, repeated or invalid
   */
  static Command parse(final String[] args) throws UsageException {
    if (args.length == 0) {
      return new Help();
    }
    final String command = args[0];
    final List<String> rest = List.of(args).subList(1, args.length);
    switch (command) {
      case "help":
      case "--help":
      case "-h":
        return new Help();
      case "serve":
        return serve(options(command, rest, Set.of("--id", "--peers", "--raft", "--http", "--data", "--raft-tls-cert", "--raft-tls-key",
            "--raft-tls-trust", "--http-tls-cert", "--http-tls-key", "--http-tls-trust", "--http-client-auth",
            "--transport", "--storage", "--peer-route"), Set.of("--init", "--learner")));
      case "demo":
        return demo(options(command, rest, Set.of("--writes", "--storage", "--transport"), Set.of()));
      case "cluster":
        return cluster(options(command, rest, Set.of("--dir", "--storage", "--transport", "--raft-port",
            "--http-port"), Set.of()));
      default:
        throw new UsageException(command, "unknown command=" + command + "; expected serve, demo, cluster or help");
    }
  }

  private static Serve serve(final Map<String, String> o) throws UsageException {
    final long id = positiveLong(o, "--id", required(o, "--id"));
    final Map<Long, Peer> peers;
    try {
      peers = Peer.parseList(required(o, "--peers"));
    } catch (final IllegalArgumentException e) {
      throw new UsageException("--peers", "--peers: " + e.getMessage());
    }
    final Peer self = peers.get(id);
    if (self == null) {
      throw new UsageException("--peers", "--peers=" + o.get("--peers") + " has no entry for --id=" + id);
    }
    final String raftBind = hostPort(o, "--raft", self.raftAddress());
    final String httpBind = hostPort(o, "--http", self.httpAddress());
    final String transport = oneOf(o, "--transport", "netty", TRANSPORTS);
    final String storage = oneOf(o, "--storage", "file", STORAGES);
    final Path data = o.containsKey("--data") ? Path.of(o.get("--data")) : null;
    if (data == null && !storage.equals("memory")) {
      throw new UsageException("--data", "--data is required with --storage=" + storage);
    }
    final boolean learner = o.containsKey("--learner");
    if (learner && o.containsKey("--init")) {
      throw new UsageException("--learner", "--learner and --init exclude each other: a future learner does not"
          + " form the cluster; start it, then add it with POST /admin/learners on the leader");
    }
    final Map<Long, String> routes = peerRoutes(o, peers);
    final KvNode.Settings settings = new KvNode.Settings(
        id, transport, storage, data, peers, raftBind, httpBind, KvNode.DEFAULT_WRITE_TIMEOUT, learner, routes);
    return new Serve(settings, o.containsKey("--init"), tls(o, transport));
  }

  /** {@code --peer-route 2=127.0.0.1:9002,3=...}: the peers must be known, each named once. */
  private static Map<Long, String> peerRoutes(final Map<String, String> o, final Map<Long, Peer> peers)
      throws UsageException {
    final Map<Long, String> routes = new java.util.TreeMap<>();
    final String text = o.get("--peer-route");
    if (text == null) {
      return routes;
    }
    for (final String part : text.split(",", -1)) {
      final int eq = part.indexOf('=');
      final long peer;
      try {
        peer = eq > 0 ? Long.parseLong(part.substring(0, eq).trim()) : -1;
      } catch (final NumberFormatException e) {
        throw new UsageException("--peer-route", "--peer-route: '" + part + "' has a bad peer id");
      }
      if (peer <= 0) {
        throw new UsageException("--peer-route", "--peer-route: '" + part + "' must look like id=host:port");
      }
      if (!peers.containsKey(peer)) {
        throw new UsageException("--peer-route", "--peer-route: peer id=" + peer + " is not in --peers");
      }
      final String address = part.substring(eq + 1).trim();
      try {
        Peer.checkHostPort(address, "--peer-route " + peer, false);
      } catch (final IllegalArgumentException e) {
        throw new UsageException("--peer-route", e.getMessage());
      }
      if (routes.put(peer, address) != null) {
        throw new UsageException("--peer-route", "--peer-route names peer id=" + peer + " twice");
      }
    }
    return routes;
  }

  /** The TLS options of {@code serve}: all-or-none groups, readable files, values in range. */
  private static TlsSettings tls(final Map<String, String> o, final String transport) throws UsageException {
    final Path raftCert = readableFile(o, "--raft-tls-cert");
    final Path raftKey = readableFile(o, "--raft-tls-key");
    final Path raftTrust = readableFile(o, "--raft-tls-trust");
    final Path httpCert = readableFile(o, "--http-tls-cert");
    final Path httpKey = readableFile(o, "--http-tls-key");
    final Path httpTrust = readableFile(o, "--http-tls-trust");
    final String clientAuth = oneOf(o, "--http-client-auth", "none", Set.of("none", "required"));
    final boolean raft = raftCert != null || raftKey != null || raftTrust != null;
    if (raft) {
      for (final String name : List.of("--raft-tls-cert", "--raft-tls-key", "--raft-tls-trust")) {
        if (!o.containsKey(name)) {
          throw new UsageException(name, name + " is required with the other --raft-tls-* options");
        }
      }
      if (!transport.equals("netty")) {
        throw new UsageException("--raft-tls-cert", "--raft-tls-cert, --raft-tls-key and --raft-tls-trust need --transport netty, not "
            + transport);
      }
    }
    if ((httpCert == null) != (httpKey == null)) {
      final String missing = httpCert == null ? "--http-tls-cert" : "--http-tls-key";
      throw new UsageException(missing, missing + " is required with the other of --http-tls-cert and --http-tls-key");
    }
    final boolean required = clientAuth.equals("required");
    if (required && httpCert == null) {
      throw new UsageException("--http-client-auth",
          "--http-client-auth required needs HTTPS: give --http-tls-cert and --http-tls-key");
    }
    if (required && httpTrust == null) {
      throw new UsageException("--http-tls-trust",
          "--http-client-auth required needs --http-tls-trust (the CA certificates clients' certificates chain to)");
    }
    if (!required && httpTrust != null) {
      // Refused rather than ignored: it would look as if clients were checked.
      throw new UsageException("--http-tls-trust",
          "--http-tls-trust is only used with --http-client-auth required; clients are not asked for certificates");
    }
    return new TlsSettings(raftCert, raftKey, raftTrust, httpCert, httpKey, httpTrust, required);
  }

  private static Path readableFile(final Map<String, String> o, final String name) throws UsageException {
    final String value = o.get(name);
    if (value == null) {
      return null;
    }
    final Path path = Path.of(value);
    if (!java.nio.file.Files.isRegularFile(path) || !java.nio.file.Files.isReadable(path)) {
      throw new UsageException(name, name + "=" + value + " is not a readable file");
    }
    return path;
  }

  private static Demo demo(final Map<String, String> o) throws UsageException {
    final String writes = o.getOrDefault("--writes", "2000");
    final long n = positiveLong(o, "--writes", writes);
    if (n > 1_000_000) {
      throw new UsageException("--writes", "--writes=" + writes + " must be <= 1000000");
    }
    return new Demo((int) n, oneOf(o, "--storage", "file", STORAGES), oneOf(o, "--transport", "netty", TRANSPORTS));
  }

  private static Cluster cluster(final Map<String, String> o) throws UsageException {
    final int raftPort = port(o, "--raft-port", "7101");
    final int httpPort = port(o, "--http-port", "8101");
    if (Math.abs(raftPort - httpPort) < 3) {
      throw new UsageException("--http-port", "--http-port=" + httpPort + " overlaps --raft-port=" + raftPort
          + " (each takes 3 ports)");
    }
    return new Cluster(
        o.containsKey("--dir") ? Path.of(o.get("--dir")) : null,
        oneOf(o, "--storage", "file", STORAGES),
        oneOf(o, "--transport", "netty", TRANSPORTS),
        raftPort,
        httpPort);
  }

  private static Map<String, String> options(
      final String command, final List<String> args, final Set<String> valued, final Set<String> flags)
      throws UsageException {
    final Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      final String arg = args.get(i);
      final int eq = arg.indexOf('=');
      final String name = arg.startsWith("--") && eq > 0 ? arg.substring(0, eq) : arg;
      String value = arg.startsWith("--") && eq > 0 ? arg.substring(eq + 1) : null;
      if (flags.contains(name)) {
        if (value != null) {
          throw new UsageException(name, name + " takes no value, got " + arg);
        }
        value = "true";
      } else if (valued.contains(name)) {
        if (value == null) {
          if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
            throw new UsageException(name, name + " needs a value");
          }
          value = args.get(++i);
        }
      } else {
        throw new UsageException(
            name, (name.startsWith("-") ? "unknown option " : "unexpected argument ") + name + " for " + command);
      }
      if (out.put(name, value) != null) {
        throw new UsageException(name, name + " is given twice");
      }
    }
    return out;
  }

  private static String required(final Map<String, String> o, final String name) throws UsageException {
    final String v = o.get(name);
    if (v == null) {
      throw new UsageException(name, name + " is required");
    }
    return v;
  }

  private static long positiveLong(final Map<String, String> o, final String name, final String value)
      throws UsageException {
    try {
      final long v = Long.parseLong(value);
      if (v > 0) {
        return v;
      }
    } catch (final NumberFormatException e) {
      // reported below
    }
    throw new UsageException(name, name + "=" + value + " must be a positive integer");
  }

  private static int port(final Map<String, String> o, final String name, final String fallback)
      throws UsageException {
    final String value = o.getOrDefault(name, fallback);
    final long v = positiveLong(o, name, value);
    if (v > 65533) {
      throw new UsageException(name, name + "=" + value + " must be <= 65533");
    }
    return (int) v;
  }

  private static String hostPort(final Map<String, String> o, final String name, final String fallback)
      throws UsageException {
    final String value = o.getOrDefault(name, fallback);
    try {
      Peer.checkHostPort(value, name, true);
    } catch (final IllegalArgumentException e) {
      throw new UsageException(name, e.getMessage());
    }
    return value;
  }

  private static String oneOf(
      final Map<String, String> o, final String name, final String fallback, final Set<String> allowed)
      throws UsageException {
    final String value = o.getOrDefault(name, fallback);
    if (!allowed.contains(value)) {
      throw new UsageException(name, name + "=" + value + " must be one of " + new java.util.TreeSet<>(allowed));
    }
    return value;
  }
}
