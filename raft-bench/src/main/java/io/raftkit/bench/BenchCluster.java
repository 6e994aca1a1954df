package io.raftkit.bench;

import io.raftkit.api.Config;
import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftBuilder;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotSource;
import io.raftkit.api.spi.StateMachine;
import io.raftkit.testkit.LocalNetwork;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The benchmarked cluster: {@code nodes} raftkit nodes in this JVM with production defaults
 * ({@link Config#defaults()}, cluster id {@code raft-bench}), each with a {@link
 * CountingStateMachine}, over the chosen transport and storage. Durable storage gets a fresh
 * temporary directory that {@link #close()} deletes.
 *
 * <p>Not thread-safe for start/close; {@link #leader()} and {@link #awaitLeader} may be called from
 * any thread.
 */
final class BenchCluster implements AutoCloseable {

  /** How long one {@link Raft#awaitMetrics} call of a polling loop lasts at most. */
  private static final Duration POLL_SLICE = Duration.ofMillis(50);

  private final BenchOptions options;
  private final LocalNetwork network;
  private final Path dataRoot;
  private final Map<Long, String> addresses;
  private final List<Raft<Void>> nodes = new ArrayList<>();

  private BenchCluster(final BenchOptions options) throws IOException {
    this.options = options;
    this.network = options.transport().equals(LocalNetwork.PROVIDER_NAME) ? LocalNetwork.create() : null;
    this.dataRoot =
        options.storage().equals("memory")
            ? null
            : Files.createTempDirectory(Files.createDirectories(options.dataDir()), "raft-bench-");
    this.addresses = assignAddresses(options.nodes(), network != null);
  }

  /**
   * Starts every node and initializes the cluster through node 1.
   *
   * @param options the options
   * @return the running cluster
   * @throws IOException if a data directory cannot be created
   */
  static BenchCluster start(final BenchOptions options) throws IOException {
    final BenchCluster cluster = new BenchCluster(options);
    try {
      for (final Map.Entry<Long, String> e : cluster.addresses.entrySet()) {
        cluster.nodes.add(cluster.startNode(e.getKey(), e.getValue()));
      }
      await(cluster.nodes.get(0).initialize(Membership.ofVoters(cluster.addresses)), Duration.ofSeconds(30),
          "initialize node 1");
      return cluster;
    } catch (final RuntimeException | IOException e) {
      try {
        cluster.close();
      } catch (final RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private Raft<Void> startNode(final long id, final String address) throws IOException {
    final RaftBuilder<Void> b =
        Raft.<Void>builder()
            .nodeId(id)
            .config(Config.builder().clusterId("raft-bench")
                .commitLinger(java.time.Duration.ofNanos(options.commitLingerMicros() * 1_000L)).build())
            .stateMachine(new CountingStateMachine())
            .storage(options.storage())
            .transport(options.transport())
            .bindAddress(address);
    options.providerOptions().forEach(b::option);
    if (network != null) {
      b.option(LocalNetwork.NETWORK_OPTION, network.name());
    }
    if (dataRoot != null) {
      b.dataDir(Files.createDirectories(dataRoot.resolve("node" + id)));
    }
    return b.build();
  }

  private static Map<Long, String> assignAddresses(final int size, final boolean local) {
    final Map<Long, String> out = new TreeMap<>();
    if (local) {
      for (long id = 1; id <= size; id++) {
        out.put(id, "node" + id);
      }
      return out;
    }
    // Hold every probe socket until all ports are chosen, so that no two nodes get the same one.
    final List<ServerSocket> probes = new ArrayList<>();
    try {
      for (long id = 1; id <= size; id++) {
        final ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        probes.add(probe);
        out.put(id, "127.0.0.1:" + probe.getLocalPort());
      }
    } catch (final IOException e) {
      throw new UncheckedIOException("cannot find free loopback ports for " + size + " nodes", e);
    } finally {
      for (final ServerSocket probe : probes) {
        try {
          probe.close();
        } catch (final IOException e) {
          // a probe that fails to close keeps its port; the node binding it will say so
        }
      }
    }
    return out;
  }

  /**
   * The nodes, node 1 first.
   *
   * @return the handles
   */
  List<Raft<Void>> nodes() {
    return nodes;
  }

  /**
   * The data directory of durable storage.
   *
   * @return the directory, or null for memory storage
   */
  Path dataRoot() {
    return dataRoot;
  }

  /**
   * The node that leads now: of those that say they lead, the one with the highest term.
   *
   * @return the leader, or null
   */
  Raft<Void> leader() {
    Raft<Void> best = null;
    long bestTerm = -1;
    for (final Raft<Void> raft : nodes) {
      final RaftMetrics m = raft.metrics();
      if (m.isLeader() && m.currentTerm() > bestTerm) {
        best = raft;
        bestTerm = m.currentTerm();
      }
    }
    return best;
  }

  /**
   * Waits until a node leads: never sleeps, each wait is an {@link Raft#awaitMetrics} slice.
   *
   * @param timeout how long to wait
   * @return the leader
   * @throws IllegalStateException on timeout; the message lists every node's metrics
   */
  Raft<Void> awaitLeader(final Duration timeout) {
    final long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      final Raft<Void> leader = leader();
      if (leader != null) {
        return leader;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new IllegalStateException("no leader within " + timeout.toMillis() + " ms; " + describe());
      }
      for (final Raft<Void> raft : nodes) {
        try {
          raft.awaitMetrics(RaftMetrics::isLeader, POLL_SLICE)
              .get(POLL_SLICE.toMillis() + 5_000, TimeUnit.MILLISECONDS);
          break;
        } catch (final ExecutionException | TimeoutException e) {
          // not leading yet (or stopped): try the next node
        } catch (final InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for a leader", e);
        }
      }
    }
  }

  /**
   * One line per node: its metrics.
   *
   * @return the description
   */
  String describe() {
    final StringBuilder sb = new StringBuilder();
    for (final Raft<Void> raft : nodes) {
      sb.append("\n  ").append(raft.metrics());
    }
    return sb.toString();
  }

  /** Closes every node, the local network, and deletes the data directory. */
  @Override
  public void close() {
    RuntimeException failure = null;
    for (final Raft<Void> raft : nodes) {
      try {
        raft.close();
      } catch (final RuntimeException e) {
        failure = add(failure, e);
      }
    }
    if (network != null) {
      network.close();
    }
    if (dataRoot != null) {
      try {
        deleteTree(dataRoot);
      } catch (final IOException e) {
        failure = add(failure, new UncheckedIOException("cannot delete " + dataRoot, e));
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private static RuntimeException add(final RuntimeException first, final RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  private static void deleteTree(final Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(final Path dir, final IOException exc) throws IOException {
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static <T> T await(
      final java.util.concurrent.CompletableFuture<T> future, final Duration timeout, final String what) {
    try {
      return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (final ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
    } catch (final TimeoutException e) {
      throw new IllegalStateException(what + " did not finish within " + timeout.toMillis() + " ms", e);
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during " + what, e);
    }
  }

  /**
   * The benchmark's state machine: it only counts, so that the figures measure raftkit rather than
   * an application. Runs on the node's apply thread alone.
   */
  /**
   * Counts the writes it applies. It builds snapshots (the count) like any real state machine, so
   * that the nodes purge their logs behind them as a long-running service does: without them the
   * log only grows, and a file store never reuses a purged segment's file.
   */
  static final class CountingStateMachine implements StateMachine<Void> {
    private volatile LogId lastApplied = LogId.ZERO;
    private long appliedWrites;

    @Override
    public SnapshotSource snapshot() {
      final long count = appliedWrites;
      return out -> new DataOutputStream(out).writeLong(count);
    }

    @Override
    public void restore(final SnapshotMeta meta, final InputStream data) throws IOException {
      appliedWrites = new DataInputStream(data).readLong();
      lastApplied = meta.lastLogId();
    }

    @Override
    public LogId lastApplied() {
      return lastApplied;
    }

    @Override
    public Void apply(final Entry entry) {
      if (entry.kind() == EntryKind.NORMAL) {
        appliedWrites++;
      }
      lastApplied = entry.logId();
      return null;
    }

    long appliedWrites() {
      return appliedWrites;
    }
  }
}
