package io.raftkit.examples.kv;

import io.raftkit.api.error.AlreadyInitializedException;
import io.raftkit.api.error.ConfigException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code raft-kv} command line: {@code serve}, {@code demo}, {@code cluster}, {@code help}.
 * Run it with {@code java -p <module path> -m io.raftkit.examples.kv/io.raftkit.examples.kv.Main}
 * (the {@code ./raft-kv} script at the repository root builds the module path and does this).
 *
 * <p>Exit codes: 0 done, 1 failed while running, 2 bad command line (the message names the
 * option, then the usage follows).
 */
public final class Main {

  /** Exit code of a run that failed. */
  static final int EXIT_FAILED = 1;
  /** Exit code of a bad command line. */
  static final int EXIT_USAGE = 2;

  private static final String SLF4J_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

  private Main() {}

  /**
   * Runs the command line and exits with its code.
   *
   * @param args the arguments; see {@link Cli#USAGE}
   */
  public static void main(final String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /**
   * Runs the command line; {@code serve} and {@code cluster} return only once stopped.
   *
   * @return the exit code
   */
  static int run(final String[] args, final PrintStream out, final PrintStream err) {
    final Cli.Command command;
    try {
      command = Cli.parse(args);
    } catch (final Cli.UsageException e) {
      return usage(err, e.option(), e.getMessage());
    }
    try {
      if (command instanceof Cli.Serve serve) {
        return serve(serve, out, err);
      }
      if (command instanceof Cli.Demo demo) {
        // The demo prints its own progress; library logs only when something goes wrong.
        if (System.getProperty(SLF4J_LEVEL) == null) {
          System.setProperty(SLF4J_LEVEL, "warn");
        }
        new Demo(demo, out).run();
        return 0;
      }
      if (command instanceof Cli.Cluster cluster) {
        return cluster(cluster, out, err);
      }
      out.print(Cli.USAGE);
      return 0;
    } catch (final ConfigException e) {
      return usage(err, "--" + e.field(), e.getMessage());
    } catch (final Exception e) {
      err.println("raft-kv: failed: " + e);
      Throwable cause = e.getCause();
      while (cause != null) {
        err.println("  caused by: " + cause);
        cause = cause.getCause();
      }
      return EXIT_FAILED;
    }
  }

  private static int usage(final PrintStream err, final String option, final String message) {
    err.println("raft-kv: " + option + ": " + message);
    err.print(Cli.USAGE);
    return EXIT_USAGE;
  }

  private static int serve(final Cli.Serve serve, final PrintStream out, final PrintStream err)
      throws InterruptedException, ExecutionException {
    final KvNode.Settings s = serve.settings();
    final KvNode node;
    try {
      node = KvNode.start(s, serve.tls());
    } catch (final UncheckedIOException e) {
      // The builder's message may already say so (storage, transport); say it once.
      final String failed = "node " + s.id() + " could not start";
      err.println("raft-kv: " + (e.getMessage().startsWith(failed) ? "" : failed + ": ") + e.getMessage());
      return EXIT_FAILED;
    }
    final CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      node.close();
      stopped.countDown();
    }, "raft-kv-shutdown"));
    out.printf("raft-kv node %d serving: raft=%s http=%s://%s transport=%s storage=%s data=%s%s%n",
        s.id(), node.raft().localAddress(), serve.tls().httpScheme(), node.httpAddress(), s.transport(), s.storage(),
        s.dataDir(), serve.tls().raftTls() ? " raft-tls=mutual" : "");
    if (s.learner()) {
      out.printf("node %d is a future learner: add it on the leader with curl -X POST <leader-http>/admin/learners"
          + " -d '{\"id\":%d,\"raft\":\"%s\",\"http\":\"%s\"}'%n",
          s.id(), s.id(), s.self().raftAddress(), s.self().httpAddress());
    }
    out.flush();
    if (serve.init()) {
      try {
        node.initialize().get(30, TimeUnit.SECONDS);
        out.println("initialized the cluster: " + s.initialMembership().nodes());
      } catch (final ExecutionException e) {
        if (!(e.getCause() instanceof AlreadyInitializedException)) {
          throw e;
        }
        out.println("already initialized: " + e.getCause().getMessage());
      } catch (final java.util.concurrent.TimeoutException e) {
        err.println("raft-kv: initialize did not finish within 30 s");
      }
      out.flush();
    }
    stopped.await();
    return 0;
  }

  private static int cluster(final Cli.Cluster c, final PrintStream out, final PrintStream err)
      throws IOException, InterruptedException {
    final boolean temporary = c.dir() == null;
    final Path dir = temporary ? Files.createTempDirectory("raft-kv-cluster-") : c.dir();
    final Map<Long, Peer> peers = new TreeMap<>();
    for (int i = 0; i < 3; i++) {
      peers.put((long) i + 1, new Peer(i + 1, "127.0.0.1:" + (c.raftPort() + i), "127.0.0.1:" + (c.httpPort() + i)));
    }
    final ClusterProcesses cluster =
        new ClusterProcesses(ClusterProcesses.currentJvmLauncher(), peers, dir, c.storage(), c.transport());
    final Thread stop = new Thread(() -> {
      cluster.close();
      if (temporary) {
        try {
          Dirs.deleteRecursively(dir);
        } catch (final IOException e) {
          System.err.println("raft-kv: could not delete " + dir + ": " + e);
        }
      }
    }, "raft-kv-cluster-stop");
    Runtime.getRuntime().addShutdownHook(stop);
    out.println("starting 3 serve processes; data and logs in " + dir + (temporary ? " (deleted at exit)" : ""));
    for (final Peer p : peers.values()) {
      final Process process = cluster.start(p.id(), p.id() == 1);
      out.printf("  node %d: pid %d raft=%s http=http://%s log=%s%n",
          p.id(), process.pid(), p.raftAddress(), p.httpAddress(), cluster.log(p.id()));
    }
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    final Peer leader;
    try {
      // Node 1 forms the cluster; once it serves, its metrics answer (a long poll) when it knows a leader.
      cluster.awaitServing(1, Duration.ofNanos(deadline - System.nanoTime()));
      final long leaderId = awaitLeaderId(client, peers.get(1L), deadline);
      leader = peers.get(leaderId);
      if (leader == null) {
        err.printf("raft-kv: node 1 names node %d as the leader, which is not one of %s%n", leaderId, peers.keySet());
        return EXIT_FAILED;
      }
    } catch (final IOException | TimeoutException e) {
      err.println("raft-kv: " + e.getMessage() + " (data and logs in " + dir + ")");
      return EXIT_FAILED;
    }
    final String h = "http://" + leader.httpAddress();
    out.printf("node %d is the leader. Try:%n", leader.id());
    out.printf("  curl -i -X PUT %s/kv/hello -d '{\"value\":\"world\"}'%n", h);
    out.printf("  curl -i %s/kv/hello%n", h);
    out.printf("  curl -i '%s/kv/hello?consistency=lease'%n", h);
    out.printf("  curl -i 'http://%s/kv/hello?consistency=local'%n", peers.get(leader.id() == 1 ? 2L : 1L).httpAddress());
    out.printf("  curl -i -X POST %s/kv/hello/cas -d '{\"expected\":\"world\",\"value\":\"raft\"}'%n", h);
    out.printf("  curl -s %s/admin/metrics%n", h);
    out.printf("  kill -9 %d   # the leader; another node takes over%n", cluster.process(leader.id()).pid());
    out.println("Ctrl-C stops the cluster.");
    out.flush();
    final List<CompletableFuture<Process>> exits = peers.keySet().stream()
        .map(cluster::process).map(Process::onExit).toList();
    CompletableFuture.allOf(exits.toArray(new CompletableFuture<?>[0])).join();
    out.println("every node has exited");
    return 0;
  }

  private static final java.util.regex.Pattern CURRENT_LEADER =
      java.util.regex.Pattern.compile("\"current_leader\":(\\d{1,18})[,}]");

  /** Asks {@code p} for the leader it knows, waiting (a long poll) up to {@code deadline}. */
  private static long awaitLeaderId(final HttpClient client, final Peer p, final long deadline)
      throws IOException, InterruptedException, TimeoutException {
    final long waitMs = Math.max(1, Math.min(HttpApi.MAX_METRICS_WAIT_MS,
        TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
    final HttpResponse<String> r = client.send(
        HttpRequest.newBuilder(URI.create("http://" + p.httpAddress() + "/admin/metrics?leader_above_term=0&wait_ms="
                + waitMs))
            .timeout(Duration.ofMillis(waitMs + 5_000)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 504) {
      throw new TimeoutException("no leader within " + waitMs + " ms: " + r.body());
    }
    if (r.statusCode() != 200) {
      throw new IOException("node " + p.id() + " answered " + r.statusCode() + ": " + r.body());
    }
    // (Json parses flat request bodies only; the metrics nest, so take the one member needed.)
    final java.util.regex.Matcher leader = CURRENT_LEADER.matcher(r.body());
    if (!leader.find()) {
      throw new IOException("node " + p.id() + " answered metrics without current_leader: " + r.body());
    }
    return Long.parseLong(leader.group(1));
  }
}
