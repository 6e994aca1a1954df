package io.raftkit.examples.kv;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Nodes of one cluster, each a {@code serve} process (a separate JVM), with its output in {@code
 * dir/node-N.log} and its data in {@code dir/node-N}. Used by the {@code cluster} command and the
 * end-to-end test.
 *
 * <p>A thread per process copies its output to the log file and watches for the line {@code
 * serve} prints once its HTTP API listens, so that {@link #awaitServing} waits for that moment
 * instead of polling the port.
 *
 * <p>Not thread-safe.
 */
final class ClusterProcesses implements AutoCloseable {

  private final List<String> launcher;
  private final Map<Long, Peer> peers;
  private final Path dir;
  private final String storage;
  private final String transport;
  private final Map<Long, Process> processes = new TreeMap<>();
  private final Map<Long, CompletableFuture<Void>> serving = new TreeMap<>();

  /**
   * Creates the handle; starts nothing.
   *
   * @param launcher the command that runs {@link Main} (java, JVM flags, path, main class)
   * @param peers every node
   * @param dir where data and logs go
   * @param storage the storage provider name
   * @param transport the transport provider name
   */
  ClusterProcesses(
      final List<String> launcher, final Map<Long, Peer> peers, final Path dir, final String storage,
      final String transport) {
    this.launcher = List.copyOf(launcher);
    this.peers = Map.copyOf(peers);
    this.dir = dir;
    this.storage = storage;
    this.transport = transport;
  }

  /**
   * The command that starts {@link Main} in a new JVM the way this one runs: on the module path
   * (with {@code -m}) if this module is named, else on the class path.
   */
  static List<String> currentJvmLauncher() {
    final List<String> cmd = new ArrayList<>(javaAndFlags());
    final String modulePath = System.getProperty("jdk.module.path");
    if (Main.class.getModule().isNamed() && modulePath != null && !modulePath.isBlank()) {
      cmd.addAll(List.of("-p", modulePath, "-m", Main.class.getModule().getName() + "/" + Main.class.getName()));
    } else {
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    }
    return cmd;
  }

  /**
   * The command that starts {@link Main} on the class path made of this JVM's module path and
   * class path (what a test, whose module path surefire assembles, can rely on).
   */
  static List<String> classPathLauncher() {
    final List<String> parts = new ArrayList<>();
    for (final String prop : List.of("jdk.module.path", "java.class.path")) {
      final String value = System.getProperty(prop);
      if (value != null && !value.isBlank()) {
        parts.add(value);
      }
    }
    final List<String> cmd = new ArrayList<>(javaAndFlags());
    cmd.addAll(List.of("-cp", String.join(File.pathSeparator, parts), Main.class.getName()));
    return cmd;
  }

  private static List<String> javaAndFlags() {
    final List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    if (ModuleLayer.boot().findModule("org.agrona").isPresent()) {
      cmd.add("--add-exports=java.base/jdk.internal.misc=org.agrona");
    }
    return cmd;
  }

  /** The peers. */
  Map<Long, Peer> peers() {
    return peers;
  }

  /** The log file of node {@code id}. */
  Path log(final long id) {
    return dir.resolve("node-" + id + ".log");
  }

  /**
   * Starts node {@code id} ({@code serve}); with {@code init} it also forms the cluster.
   *
   * @throws IOException if the process cannot start
   */
  Process start(final long id, final boolean init) throws IOException {
    Files.createDirectories(dir);
    final List<String> cmd = new ArrayList<>(launcher);
    cmd.addAll(List.of(
        "serve", "--id", Long.toString(id), "--peers", Peer.formatList(peers),
        "--transport", transport, "--storage", storage));
    if (!storage.equals("memory")) {
      cmd.addAll(List.of("--data", dir.resolve("node-" + id).toString()));
    }
    if (init) {
      cmd.add("--init");
    }
    final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    final CompletableFuture<Void> up = new CompletableFuture<>();
    final Thread pump = new Thread(() -> copyOutput(id, p, up), "raft-kv-node-" + id + "-output");
    pump.setDaemon(true);
    pump.start();
    processes.put(id, p);
    serving.put(id, up);
    return p;
  }

  /** Copies the output of node {@code id} to its log, completing {@code up} at its serving line. */
  private void copyOutput(final long id, final Process p, final CompletableFuture<Void> up) {
    final String servingLine = "raft-kv node " + id + " serving:";
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Writer out = Files.newBufferedWriter(log(id), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND)) {
      String line;
      while ((line = in.readLine()) != null) {
        out.write(line);
        out.write('\n');
        out.flush();
        if (!up.isDone() && line.startsWith(servingLine)) {
          up.complete(null);
        }
      }
    } catch (final IOException e) {
      up.completeExceptionally(new IOException("reading the output of node " + id + " failed: " + e, e));
      return;
    }
    p.onExit().thenAccept(done -> up.completeExceptionally(new IOException(
        "node " + id + " exited with " + done.exitValue() + " before it served; see " + log(id))));
  }

  /**
   * Waits until node {@code id} (started by {@link #start}) has said its HTTP API listens.
   *
   * @throws IOException if it exited first
   * @throws TimeoutException if it did not within {@code timeout}
   */
  void awaitServing(final long id, final Duration timeout) throws IOException, TimeoutException, InterruptedException {
    final CompletableFuture<Void> up = serving.get(id);
    if (up == null) {
      throw new IllegalStateException("node " + id + " was not started");
    }
    try {
      up.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
    } catch (final ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (final TimeoutException e) {
      throw new TimeoutException("node " + id + " did not serve within " + timeout + "; see " + log(id));
    }
  }

  /** The process of node {@code id}, or {@code null}. */
  Process process(final long id) {
    return processes.get(id);
  }

  /** Kills node {@code id} with SIGKILL and waits for it to die. */
  void kill(final long id) throws InterruptedException {
    final Process p = processes.remove(id);
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Stops every node: SIGTERM (a clean shutdown), then SIGKILL for any still alive after 10 s. */
  @Override
  public void close() {
    for (final Process p : processes.values()) {
      p.destroy();
    }
    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (final Process p : processes.values()) {
      try {
        if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          p.destroyForcibly();
          p.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (final InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    processes.clear();
    serving.clear();
  }
}
