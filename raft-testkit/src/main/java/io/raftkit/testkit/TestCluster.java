package io.raftkit.testkit;

import io.raftkit.api.Config;
import io.raftkit.api.Membership;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftBuilder;
import io.raftkit.api.RaftMetrics;
import io.raftkit.api.ServerState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.Predicate;

/**
 * A Raft cluster in one JVM: nodes {@code 1..size} on their own {@link LocalNetwork}, with bind
 * addresses {@code "node<i>"} (or over another transport, {@link Builder#transport}, on loopback
 * ports), each with a fresh {@link DigestStateMachine}, and by default the
 * storage provider {@code "memory"} with store names {@code "<network name>-node<i>"}, so that
 * {@link #restart} finds the node's log and vote again.
 *
 * <pre>{@code
 * try (TestCluster cluster = TestCluster.of(3).start()) {
 *   cluster.initialize();
 *   Raft<Long> leader = cluster.awaitLeader(Duration.ofSeconds(10));
 *   WriteResult<Long> r = leader.write(new byte[] {1}).get(10, TimeUnit.SECONDS);
 *   cluster.awaitApplied(r.logId().index(), Duration.ofSeconds(10));
 *   cluster.network().isolate(leader.nodeId());
 *   ...
 * }
 * }</pre>
 *
 * <p>The engine and storage provider are found at run time: the test's module or class path needs
 * raft-engine and the storage provider (storage-memory by default). To simulate power loss with
 * memory storage, crash the store before stopping the node: {@code
 * MemoryStores.get(cluster.storeName(id)).crash(); cluster.stop(id);}. Memory stores outlive the
 * cluster unless dropped; {@link Builder#afterClose} is the place to do that ({@code c ->
 * c.storeNames().forEach(MemoryStores::drop)}).
 *
 * <p>Waiting never sleeps: every wait is a deadline loop over {@link Raft#awaitMetrics}, and fails
 * with an {@link IllegalStateException} that lists every node's metrics.
 *
 * <p>Thread-safe: starting and stopping nodes is serialized; node handles may be used from any
 * thread.
 */
public final class TestCluster implements AutoCloseable {

  /** The storage option naming a memory store (the value of {@code MemoryStores.NAME_OPTION}). */
  public static final String MEMORY_NAME_OPTION = "memory.name";

  /** How long the harness waits for one-shot steps such as {@link #initialize()}. */
  public static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);

  /** How long one {@link Raft#awaitMetrics} call of a polling loop lasts at most. */
  private static final Duration POLL_SLICE = Duration.ofMillis(50);

  private final int size;
  private final Config config;
  private final String storage;
  private final Path dataRoot;
  private final Map<String, String> options;
  private final List<Consumer<TestCluster>> afterClose;
  private final LocalNetwork network;
  private final String transport;
  private final Map<Long, String> addresses;
  private final ConcurrentMap<Long, Raft<Long>> running = new ConcurrentHashMap<>();
  private final ConcurrentMap<Long, DigestStateMachine> machines = new ConcurrentHashMap<>();
  private boolean closed;

  private TestCluster(final Builder b) {
    this.size = b.size;
    this.config = b.config;
    this.storage = b.storage;
    this.dataRoot = b.dataRoot;
    this.options = Collections.unmodifiableMap(new LinkedHashMap<>(b.options));
    this.afterClose = List.copyOf(b.afterClose);
    this.network = LocalNetwork.create();
    this.transport = b.transport;
    this.addresses = Collections.unmodifiableMap(assignAddresses(b));
  }

  private static Map<Long, String> assignAddresses(final Builder b) {
    final Map<Long, String> out = new TreeMap<>();
    if (b.addressOf != null) {
      for (long id = 1; id <= b.size; id++) {
        out.put(id, Objects.requireNonNull(b.addressOf.apply(id), "address of node " + id));
      }
    } else if (b.transport.equals(LocalNetwork.PROVIDER_NAME)) {
      for (long id = 1; id <= b.size; id++) {
        out.put(id, "node" + id);
      }
    } else {
      // Hold every probe socket until all ports are chosen, so that no two nodes get the same one.
      final List<ServerSocket> probes = new ArrayList<>();
      try {
        for (long id = 1; id <= b.size; id++) {
          final ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
          probes.add(probe);
          out.put(id, "127.0.0.1:" + probe.getLocalPort());
        }
      } catch (final IOException e) {
        throw new UncheckedIOException("cannot find free loopback ports for " + b.size + " nodes", e);
      } finally {
        for (final ServerSocket probe : probes) {
          try {
            probe.close();
          } catch (final IOException e) {
            // a probe that fails to close keeps its port; the node binding it will say so
          }
        }
      }
    }
    return out;
  }

  /**
   * A test-friendly config: election timeout 150-300 ms, heartbeat 50 ms, cluster id {@code
   * "test"}; the other values are the defaults.
   *
   * @return the config
   */
  public static Config defaultConfig() {
    return Config.builder()
        .clusterId("test")
        .electionTimeout(Duration.ofMillis(150), Duration.ofMillis(300))
        .heartbeatInterval(Duration.ofMillis(50))
        .build();
  }

  /**
   * A builder with {@code size=3}, {@link #defaultConfig()} and storage {@code "memory"}.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A cluster of {@code size} nodes with the defaults, not yet started.
   *
   * @param size the number of nodes, {@code >= 1}
   * @return the cluster
   */
  public static TestCluster of(final int size) {
    return builder().size(size).build();
  }

  /**
   * A cluster of {@code size} nodes with {@code config}, not yet started.
   *
   * @param size the number of nodes, {@code >= 1}
   * @param config every node's config
   * @return the cluster
   */
  public static TestCluster of(final int size, final Config config) {
    return builder().size(size).config(config).build();
  }

  /**
   * The number of nodes.
   *
   * @return the size given to the builder
   */
  public int size() {
    return size;
  }

  /**
   * The config of every node.
   *
   * @return the config
   */
  public Config config() {
    return config;
  }

  /**
   * The network the nodes talk over; inject faults through it.
   *
   * @return the network
   */
  public LocalNetwork network() {
    return network;
  }

  /**
   * The ids of all nodes, running or not: {@code 1..size}.
   *
   * @return the ids, in order
   */
  public List<Long> nodeIds() {
    final List<Long> ids = new ArrayList<>(size);
    for (long id = 1; id <= size; id++) {
      ids.add(id);
    }
    return ids;
  }

  /**
   * The bind address of a node.
   *
   * @param id the node id
   * @return {@code "node<id>"} with transport {@code "local"}, {@code "127.0.0.1:<port>"} with
   *     another transport, or what {@link Builder#addresses} gave
   */
  public String address(final long id) {
    checkId(id);
    return addresses.get(id);
  }

  /**
   * Every node's address, by id: the membership {@link #initialize()} proposes.
   *
   * @return the addresses
   */
  public Map<Long, String> addresses() {
    final Map<Long, String> out = new TreeMap<>();
    for (final long id : nodeIds()) {
      out.put(id, address(id));
    }
    return out;
  }

  /**
   * The memory store name of a node (given as option {@value #MEMORY_NAME_OPTION}).
   *
   * @param id the node id
   * @return {@code "<network name>-node<id>"}
   */
  public String storeName(final long id) {
    checkId(id);
    return network.name() + "-node" + id;
  }

  /**
   * The memory store names of all nodes.
   *
   * @return the names, by node id order
   */
  public List<String> storeNames() {
    final List<String> out = new ArrayList<>(size);
    for (final long id : nodeIds()) {
      out.add(storeName(id));
    }
    return out;
  }

  /**
   * Starts every node that is not running.
   *
   * @return this cluster
   */
  public synchronized TestCluster start() {
    for (final long id : nodeIds()) {
      if (!running.containsKey(id)) {
        start(id);
      }
    }
    return this;
  }

  /**
   * Starts one node with a fresh {@link DigestStateMachine} over its (possibly existing) store.
   *
   * @param id the node id
   * @return the node's handle
   * @throws IllegalStateException if it is running already
   */
  public synchronized Raft<Long> start(final long id) {
    checkId(id);
    if (closed) {
      throw new IllegalStateException("cluster on network=" + network.name() + " is closed; cannot start node " + id);
    }
    if (running.containsKey(id)) {
      throw new IllegalStateException("node " + id + " is running already");
    }
    final DigestStateMachine machine = new DigestStateMachine();
    final RaftBuilder<Long> builder =
        Raft.<Long>builder()
            .nodeId(id)
            .config(config)
            .stateMachine(machine)
            .storage(storage)
            .transport(transport)
            .bindAddress(address(id))
            .option(LocalNetwork.NETWORK_OPTION, network.name())
            .option(MEMORY_NAME_OPTION, storeName(id));
    options.forEach(builder::option);
    if (dataRoot != null) {
      final Path dir = dataRoot.resolve("node" + id);
      try {
        Files.createDirectories(dir);
      } catch (final IOException e) {
        throw new UncheckedIOException("cannot create dataDir=" + dir + " of node " + id, e);
      }
      builder.dataDir(dir);
    }
    final Raft<Long> raft = builder.build();
    machines.put(id, machine);
    running.put(id, raft);
    return raft;
  }

  /**
   * Forms the cluster: initializes node 1 with every node as a voter, and waits until that is
   * durable.
   *
   * @throws IllegalStateException if node 1 is not running, or initialization fails or times out
   */
  public void initialize() {
    initialize(nodeIds());
  }

  /**
   * Forms the cluster with only {@code voterIds} as voters (through the smallest of them); the
   * other nodes run uninitialized until a membership change adds them.
   *
   * @param voterIds the initial voters
   */
  public void initialize(final java.util.Collection<Long> voterIds) {
    final Map<Long, String> voters = new TreeMap<>();
    for (final Long id : voterIds) {
      voters.put(id, address(id));
    }
    final long first = ((TreeMap<Long, String>) voters).firstKey();
    await(node(first).initialize(Membership.ofVoters(voters)), STEP_TIMEOUT, "initialize node " + first);
  }

  /**
   * The handle of a running node.
   *
   * @param id the node id
   * @return the handle
   * @throws IllegalStateException if the node is not running
   */
  public Raft<Long> node(final long id) {
    checkId(id);
    final Raft<Long> raft = running.get(id);
    if (raft == null) {
      throw new IllegalStateException("node " + id + " is not running; running=" + new TreeMap<>(running).keySet());
    }
    return raft;
  }

  /**
   * Whether a node is running (started and not stopped by the harness; a node stopped by a fatal
   * error still counts until {@link #stop}).
   *
   * @param id the node id
   * @return whether it is running
   */
  public boolean isRunning(final long id) {
    return running.containsKey(id);
  }

  /**
   * The handles of the running nodes, by id.
   *
   * @return a copy, ordered by id
   */
  public Map<Long, Raft<Long>> runningNodes() {
    return Collections.unmodifiableMap(new TreeMap<>(running));
  }

  /**
   * The state machine of a node's current (or last) run.
   *
   * @param id the node id
   * @return the state machine
   * @throws IllegalStateException if the node was never started
   */
  public DigestStateMachine stateMachine(final long id) {
    checkId(id);
    final DigestStateMachine machine = machines.get(id);
    if (machine == null) {
      throw new IllegalStateException("node " + id + " was never started");
    }
    return machine;
  }

  /**
   * Stops a node gracefully ({@link Raft#close()}); its store keeps what it holds.
   *
   * @param id the node id
   * @return whether it was running
   */
  public synchronized boolean stop(final long id) {
    checkId(id);
    final Raft<Long> raft = running.remove(id);
    if (raft == null) {
      return false;
    }
    raft.close();
    return true;
  }

  /**
   * Stops a node if it runs and starts it again over the same store with a fresh state machine,
   * which has the log replayed into it.
   *
   * @param id the node id
   * @return the new handle
   */
  public synchronized Raft<Long> restart(final long id) {
    stop(id);
    return start(id);
  }

  /**
   * The leader among the running nodes now: of the nodes that say they lead, the one with the
   * highest term.
   *
   * @return the leader, or empty if no running node leads
   */
  public Optional<Raft<Long>> leader() {
    Raft<Long> best = null;
    long bestTerm = -1;
    for (final Raft<Long> raft : runningNodes().values()) {
      final RaftMetrics m = raft.metrics();
      if (m.isLeader() && m.currentTerm() > bestTerm) {
        best = raft;
        bestTerm = m.currentTerm();
      }
    }
    return Optional.ofNullable(best);
  }

  /**
   * Waits until a running node leads; see {@link #leader()}.
   *
   * @param timeout how long to wait
   * @return the leader
   * @throws IllegalStateException on timeout, or if every running node has shut down; the message
   *     lists every node's metrics
   */
  public Raft<Long> awaitLeader(final Duration timeout) {
    final long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      final Optional<Raft<Long>> leader = leader();
      if (leader.isPresent()) {
        return leader.get();
      }
      final Map<Long, Raft<Long>> nodes = runningNodes();
      if (nodes.isEmpty()) {
        throw new IllegalStateException("no node is running, so none can lead (network=" + network.name() + ")");
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new IllegalStateException("no leader within timeout=" + timeout.toMillis() + "ms; " + describe());
      }
      boolean anyAlive = false;
      for (final Raft<Long> raft : nodes.values()) {
        final long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          break;
        }
        final Duration slice = Duration.ofNanos(Math.min(remaining, POLL_SLICE.toNanos()));
        final Outcome outcome = awaitQuietly(raft.awaitMetrics(RaftMetrics::isLeader, slice), slice);
        if (outcome == Outcome.MET) {
          break;
        }
        anyAlive |= outcome == Outcome.TIMED_OUT;
      }
      if (!anyAlive && leader().isEmpty() && System.nanoTime() - deadline < 0) {
        throw new IllegalStateException("every running node stopped, none can lead; " + describe());
      }
    }
  }

  /**
   * Waits until every running node has applied {@code index}.
   *
   * @param index the log index
   * @param timeout how long to wait in all
   * @throws IllegalStateException on timeout or if a node stops; the message lists every node's
   *     metrics
   */
  public void awaitApplied(final long index, final Duration timeout) {
    awaitAll(m -> m.lastApplied().index() >= index, "lastApplied.index >= " + index, timeout);
  }

  /**
   * Waits until every running node's metrics satisfy {@code condition}.
   *
   * @param condition the condition
   * @param description what the condition means, for the error message
   * @param timeout how long to wait in all
   * @throws IllegalStateException on timeout or if a node stops; the message lists every node's
   *     metrics
   */
  public void awaitAll(final Predicate<RaftMetrics> condition, final String description, final Duration timeout) {
    final long deadline = System.nanoTime() + timeout.toNanos();
    for (final Raft<Long> raft : runningNodes().values()) {
      final long remaining = Math.max(1, deadline - System.nanoTime());
      final Duration left = Duration.ofNanos(remaining);
      final Outcome outcome = awaitQuietly(raft.awaitMetrics(condition, left), left);
      if (outcome != Outcome.MET) {
        throw new IllegalStateException(
            "node " + raft.nodeId() + " did not reach " + description + " within timeout=" + timeout.toMillis()
                + "ms (" + outcome + "); " + describe());
      }
    }
  }

  /**
   * One line per node: its metrics, or that it is stopped.
   *
   * @return the description
   */
  public String describe() {
    final StringBuilder sb = new StringBuilder("cluster network=").append(network.name());
    for (final long id : nodeIds()) {
      final Raft<Long> raft = running.get(id);
      sb.append("\n  node ").append(id).append(": ");
      if (raft == null) {
        sb.append("stopped");
      } else {
        final RaftMetrics m = raft.metrics();
        sb.append(m);
        if (m.state() == ServerState.SHUTDOWN) {
          sb.append(" (shut down)");
        }
      }
    }
    return sb.toString();
  }

  /**
   * Stops every node, closes the network and runs the {@link Builder#afterClose} hooks.
   * Idempotent.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    RuntimeException failure = null;
    for (final long id : nodeIds()) {
      try {
        stop(id);
      } catch (final RuntimeException e) {
        failure = addFailure(failure, e);
      }
    }
    network.close();
    for (final Consumer<TestCluster> hook : afterClose) {
      try {
        hook.accept(this);
      } catch (final RuntimeException e) {
        failure = addFailure(failure, e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "TestCluster{size=" + size + ", network=" + network.name() + ", running=" + new TreeMap<>(running).keySet()
        + "}";
  }

  private static RuntimeException addFailure(final RuntimeException first, final RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  private void checkId(final long id) {
    if (id < 1 || id > size) {
      throw new IllegalArgumentException("node id=" + id + " is not in 1.." + size);
    }
  }

  private enum Outcome {
    MET,
    TIMED_OUT,
    FAILED
  }

  /** Waits for an awaitMetrics future; a little beyond its own timeout, in case it never fires. */
  private static Outcome awaitQuietly(final CompletableFuture<RaftMetrics> future, final Duration timeout) {
    try {
      future.get(timeout.toNanos() + TimeUnit.SECONDS.toNanos(5), TimeUnit.NANOSECONDS);
      return Outcome.MET;
    } catch (final ExecutionException e) {
      return e.getCause() instanceof TimeoutException ? Outcome.TIMED_OUT : Outcome.FAILED;
    } catch (final TimeoutException e) {
      return Outcome.TIMED_OUT;
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for metrics", e);
    }
  }

  private static <T> T await(final CompletableFuture<T> future, final Duration timeout, final String what) {
    try {
      return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (final ExecutionException e) {
      final Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(what + " failed: " + cause, cause);
    } catch (final TimeoutException e) {
      throw new IllegalStateException(what + " did not finish within timeout=" + timeout.toMillis() + "ms", e);
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during " + what, e);
    }
  }

  /** Builds a {@link TestCluster}; every setter returns {@code this}. Not thread-safe. */
  public static final class Builder {
    private int size = 3;
    private Config config = defaultConfig();
    private String storage = "memory";
    private String transport = LocalNetwork.PROVIDER_NAME;
    private LongFunction<String> addressOf;
    private Path dataRoot;
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<Consumer<TestCluster>> afterClose = new ArrayList<>();

    private Builder() {}

    /**
     * The number of nodes.
     *
     * @param size {@code >= 1}
     * @return this builder
     */
    public Builder size(final int size) {
      if (size < 1) {
        throw new IllegalArgumentException("size=" + size + " must be >= 1");
      }
      this.size = size;
      return this;
    }

    /**
     * Every node's config; {@link TestCluster#defaultConfig()} if not set.
     *
     * @param config the config
     * @return this builder
     */
    public Builder config(final Config config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * The storage provider's name; {@code "memory"} if not set.
     *
     * @param providerName the name
     * @return this builder
     */
    public Builder storage(final String providerName) {
      this.storage = Objects.requireNonNull(providerName, "providerName");
      return this;
    }

    /**
     * The transport provider's name; {@code "local"} (on the cluster's {@link LocalNetwork}) if
     * not set. With another transport, nodes bind {@code "127.0.0.1:<port>"} with a port free
     * when the cluster is built (unless {@link #addresses} says otherwise), and the fault controls
     * of {@link TestCluster#network()} have no effect.
     *
     * @param providerName the name, such as {@code "netty"}
     * @return this builder
     */
    public Builder transport(final String providerName) {
      this.transport = Objects.requireNonNull(providerName, "providerName");
      return this;
    }

    /**
     * How to choose each node's bind address (also its address in the membership); the transport's
     * default if not set (see {@link #transport}).
     *
     * @param addressOf the address of a node id
     * @return this builder
     */
    public Builder addresses(final LongFunction<String> addressOf) {
      this.addressOf = Objects.requireNonNull(addressOf, "addressOf");
      return this;
    }

    /**
     * A directory under which each node gets {@code node<id>} as its data directory; none if not
     * set (enough for memory storage).
     *
     * @param root the directory
     * @return this builder
     */
    public Builder dataRoot(final Path root) {
      this.dataRoot = Objects.requireNonNull(root, "root");
      return this;
    }

    /**
     * A provider option given to every node.
     *
     * @param key the option's key
     * @param value its value
     * @return this builder
     */
    public Builder option(final String key, final String value) {
      options.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /**
     * A hook run at the end of {@link TestCluster#close()}, for example to drop memory stores.
     *
     * @param hook the hook
     * @return this builder
     */
    public Builder afterClose(final Consumer<TestCluster> hook) {
      afterClose.add(Objects.requireNonNull(hook, "hook"));
      return this;
    }

    /**
     * Creates the cluster (and its network); no node is started yet.
     *
     * @return the cluster
     */
    public TestCluster build() {
      return new TestCluster(this);
    }
  }
}
