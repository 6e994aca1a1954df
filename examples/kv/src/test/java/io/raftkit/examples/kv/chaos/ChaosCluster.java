package io.raftkit.examples.kv.chaos;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The processes of a chaos run: {@code n} {@code raft-kv serve} JVMs on loopback (netty; {@code
 * file} storage on odd ids, {@code rocksdb} on even ids), and a {@link FaultProxy} per directed
 * pair of nodes, through which every node dials every peer ({@code serve --peer-route}). Faults:
 * {@link #kill} (SIGKILL), {@link #pause}/{@link #resume} (SIGSTOP/SIGCONT through {@code kill}
 * with the process id), {@link #cut}/{@link #healNetwork} on links. HTTP goes to the nodes
 * directly.
 *
 * <p>Thread-safe.
 */
final class ChaosCluster implements AutoCloseable {

  /**
   * One node.
   *
   * @param id its id
   * @param raftAddress where its transport listens (the membership address)
   * @param httpAddress where its HTTP API listens
   * @param storage {@code file} or {@code rocksdb}
   * @param data its data directory
   * @param log its output
   */
  record Node(long id, String raftAddress, String httpAddress, String storage, Path data, Path log) {}

  private final Map<Long, Node> nodes = new TreeMap<>();
  private final Map<Long, Map<Long, FaultProxy>> proxies = new TreeMap<>();
  private final Map<Long, Process> processes = new ConcurrentHashMap<>();
  private final Set<Long> paused = ConcurrentHashMap.newKeySet();
  private final List<String> launcher;
  private final Thread cleanup = new Thread(this::destroyAll, "chaos-cluster-cleanup");

  /** Picks ports, starts the proxies; starts no node. */
  ChaosCluster(final Path dir, final int n, final List<String> launcher) throws IOException {
    this.launcher = List.copyOf(launcher);
    final List<ServerSocket> held = holdFreePorts(2 * n); // held until the proxies have their ports
    final List<Integer> ports = held.stream().map(ServerSocket::getLocalPort).toList();
    for (long id = 1; id <= n; id++) {
      final int i = (int) id - 1;
      nodes.put(id, new Node(id, "127.0.0.1:" + ports.get(i), "127.0.0.1:" + ports.get(n + i),
          id % 2 == 1 ? "file" : "rocksdb", dir.resolve("node-" + id), dir.resolve("node-" + id + ".log")));
    }
    for (final Node from : nodes.values()) {
      final Map<Long, FaultProxy> out = new TreeMap<>();
      for (final Node to : nodes.values()) {
        if (to.id() != from.id()) {
          out.put(to.id(), new FaultProxy(from.id(), to.id(), port(to.raftAddress())));
        }
      }
      proxies.put(from.id(), out);
    }
    for (final ServerSocket s : held) {
      s.close();
    }
    Runtime.getRuntime().addShutdownHook(cleanup);
  }

  /**
   * The command that starts {@code io.raftkit.examples.kv.Main} in a new JVM on the class path of
   * this one (its module path and class path, as a test under surefire has them).
   */
  static List<String> classPathLauncher() {
    final List<String> parts = new ArrayList<>();
    for (final String prop : List.of("jdk.module.path", "java.class.path")) {
      final String value = System.getProperty(prop);
      if (value != null && !value.isBlank()) {
        parts.add(value);
      }
    }
    return List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
        "-cp", String.join(File.pathSeparator, parts), "io.raftkit.examples.kv.Main");
  }

  Collection<Node> nodes() {
    return nodes.values();
  }

  Node node(final long id) {
    return nodes.get(id);
  }

  Set<Long> ids() {
    return nodes.keySet();
  }

  /** Starts node {@code id}; with {@code init} it forms the cluster of every node. */
  synchronized Process start(final long id, final boolean init) throws IOException {
    final Node node = nodes.get(id);
    Files.createDirectories(node.data().getParent());
    final StringBuilder peers = new StringBuilder();
    for (final Node p : nodes.values()) {
      peers.append(peers.length() == 0 ? "" : ",").append(p.id()).append('=').append(p.raftAddress())
          .append('@').append(p.httpAddress());
    }
    final StringBuilder routes = new StringBuilder();
    proxies.get(id).forEach((to, proxy) ->
        routes.append(routes.length() == 0 ? "" : ",").append(to).append('=').append(proxy.address()));
    final List<String> cmd = new ArrayList<>(launcher);
    cmd.addAll(List.of("serve", "--id", Long.toString(id), "--peers", peers.toString(),
        "--peer-route", routes.toString(), "--transport", "netty", "--storage", node.storage(),
        "--data", node.data().toString()));
    if (init) {
      cmd.add("--init");
    }
    Files.writeString(node.log(), "---- chaos: starting node " + id + " at " + java.time.Instant.now() + "\n",
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    final Process p = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(node.log().toFile()))
        .start();
    processes.put(id, p);
    paused.remove(id);
    return p;
  }

  /** The process of node {@code id}, or {@code null} if it is not running. */
  Process process(final long id) {
    return processes.get(id);
  }

  /** Whether node {@code id} runs (paused or not). */
  boolean running(final long id) {
    final Process p = processes.get(id);
    return p != null && p.isAlive();
  }

  /** Whether node {@code id} is stopped with SIGSTOP. */
  boolean paused(final long id) {
    return paused.contains(id);
  }

  /** {@code kill -9}, and waits until the process is gone. */
  synchronized void kill(final long id) throws InterruptedException {
    final Process p = processes.remove(id);
    paused.remove(id);
    if (p != null) {
      p.destroyForcibly(); // SIGKILL on Unix
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("node " + id + " (pid " + p.pid() + ") survived SIGKILL for 30 s");
      }
    }
  }

  /** SIGSTOP. */
  synchronized void pause(final long id) throws IOException, InterruptedException {
    final Process p = processes.get(id);
    if (p != null && p.isAlive()) {
      signal("-STOP", p.pid());
      paused.add(id);
    }
  }

  /** SIGCONT. */
  synchronized void resume(final long id) throws IOException, InterruptedException {
    final Process p = processes.get(id);
    if (p != null && paused.remove(id)) {
      signal("-CONT", p.pid());
    }
  }

  private static void signal(final String signal, final long pid) throws IOException, InterruptedException {
    final Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).redirectErrorStream(true).start();
    final String out = new String(kill.getInputStream().readAllBytes());
    if (kill.waitFor() != 0) {
      throw new IOException("kill " + signal + " " + pid + " failed: " + out);
    }
  }

  /** Cuts the link {@code from -> to}: nothing {@code from} sends reaches {@code to}. */
  void cut(final long from, final long to) {
    proxies.get(from).get(to).forward.set(true);
    proxies.get(to).get(from).backward.set(true);
  }

  /** Opens every link. */
  void healNetwork() {
    for (final Map<Long, FaultProxy> out : proxies.values()) {
      for (final FaultProxy p : out.values()) {
        p.forward.set(false);
        p.backward.set(false);
      }
    }
  }

  /** The links cut now, as {@code "from->to"}. */
  List<String> cutLinks() {
    final List<String> cut = new ArrayList<>();
    for (final Map<Long, FaultProxy> out : proxies.values()) {
      for (final FaultProxy p : out.values()) {
        if (p.forward.blocked()) {
          cut.add(p.src + "->" + p.dst);
        }
      }
    }
    return cut;
  }

  /** Resumes, then kills every node; closes the proxies. */
  @Override
  public void close() {
    destroyAll();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (final IllegalStateException e) {
      // already shutting down
    }
  }

  private synchronized void destroyAll() {
    for (final Map.Entry<Long, Process> e : processes.entrySet()) {
      if (paused.contains(e.getKey())) {
        try {
          signal("-CONT", e.getValue().pid());
        } catch (final IOException | InterruptedException ex) {
          // SIGKILL below works on a stopped process too
        }
      }
      e.getValue().destroyForcibly();
    }
    for (final Process p : processes.values()) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (final InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    processes.clear();
    paused.clear();
    for (final Map<Long, FaultProxy> out : proxies.values()) {
      out.values().forEach(FaultProxy::close);
    }
  }

  private static int port(final String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  /** {@code n} listening sockets on free loopback ports; the caller closes them. */
  private static List<ServerSocket> holdFreePorts(final int n) {
    final List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets;
    } catch (final IOException e) {
      for (final ServerSocket s : sockets) {
        try {
          s.close();
        } catch (final IOException ex) {
          e.addSuppressed(ex);
        }
      }
      throw new UncheckedIOException(e);
    }
  }
}
