package io.raftkit.examples.kv;

import io.netty.handler.ssl.SslContext;
import io.raftkit.api.Config;
import io.raftkit.api.Membership;
import io.raftkit.api.Raft;
import io.raftkit.api.RaftBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * One key-value node: a {@link Raft} node over a {@link KvStateMachine}, served over HTTP. Built
 * from {@link Settings}; {@link #close()} stops the HTTP server, then the Raft node.
 *
 * <p>Thread-safe.
 */
final class KvNode implements AutoCloseable {

  /** The cluster id every key-value node uses: nodes of other raftkit clusters are refused. */
  static final String CLUSTER_ID = "raft-kv";

  /** How long an HTTP request waits for its entry to apply before answering 504. */
  static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(5);

  /**
   * What a node is started with.
   *
   * @param id this node's id; must be one of {@code peers}
   * @param transport the transport provider name ({@code netty}, {@code aeron}, ...)
   * @param storage the storage provider name ({@code file}, {@code rocksdb}, {@code memory})
   * @param dataDir the data directory, or {@code null} (only {@code memory} runs without one)
   * @param peers every node of the cluster, this one included, by id: their Raft addresses form
   *     the initial membership, their HTTP addresses are where followers redirect to (the HTTP
   *     API adds the peers it adds as learners to its own table at run time)
   * @param raftBind where this node's transport binds (usually its Raft address in {@code peers})
   * @param httpBind where this node's HTTP server binds (usually its HTTP address in {@code peers})
   * @param writeTimeout how long an HTTP request waits for its log entry to apply (or its read to
   *     be confirmed, or its membership change to complete)
   * @param learner whether this node is not in the initial membership: it is a future learner,
   *     waiting for the leader to add it ({@code POST /admin/learners} on the leader); it never
   *     initializes a cluster
   * @param peerRoutes where this node dials some peers instead of their membership address (peer
   *     id to {@code host:port}; {@code serve --peer-route}); empty for none. A test puts a
   *     fault-injecting proxy there, one per directed link ({@link RoutedTransportProvider})
   */
  record Settings(
      long id,
      String transport,
      String storage,
      Path dataDir,
      Map<Long, Peer> peers,
      String raftBind,
      String httpBind,
      Duration writeTimeout,
      boolean learner,
      Map<Long, String> peerRoutes) {

    /** Validates the fields. */
    Settings {
      Objects.requireNonNull(transport, "transport");
      peerRoutes = Map.copyOf(peerRoutes);
      Objects.requireNonNull(storage, "storage");
      Objects.requireNonNull(raftBind, "raftBind");
      Objects.requireNonNull(httpBind, "httpBind");
      Objects.requireNonNull(writeTimeout, "writeTimeout");
      peers = Map.copyOf(peers);
      if (!peers.containsKey(id)) {
        throw new IllegalArgumentException("id=" + id + " is not one of the peers " + peers.keySet());
      }
    }

    /** Settings without peer routes. */
    Settings(
        final long id, final String transport, final String storage, final Path dataDir, final Map<Long, Peer> peers,
        final String raftBind, final String httpBind, final Duration writeTimeout, final boolean learner) {
      this(id, transport, storage, dataDir, peers, raftBind, httpBind, writeTimeout, learner, Map.of());
    }

    /** Settings that bind where {@code peers} says this node is. */
    static Settings of(
        final long id, final String transport, final String storage, final Path dataDir, final Map<Long, Peer> peers) {
      final Peer self = peers.get(id);
      if (self == null) {
        throw new IllegalArgumentException("id=" + id + " is not one of the peers " + peers.keySet());
      }
      return new Settings(
          id, transport, storage, dataDir, peers, self.raftAddress(), self.httpAddress(), DEFAULT_WRITE_TIMEOUT, false);
    }

    /** The same settings for a future learner (see {@link #learner()}). */
    Settings asLearner() {
      return new Settings(id, transport, storage, dataDir, peers, raftBind, httpBind, writeTimeout, true, peerRoutes);
    }

    /** This node as a peer. */
    Peer self() {
      return peers.get(id);
    }

    /** The HTTP address of node {@code nodeId}, or {@code null} if it is not a known peer. */
    String httpAddressOf(final long nodeId) {
      final Peer peer = peers.get(nodeId);
      return peer == null ? null : peer.httpAddress();
    }

    /**
     * The membership {@code initialize} writes: every peer a voter, at its Raft address, except
     * this node if it is a future {@link #learner()} (so initializing a learner fails: it is not a
     * voter of that membership).
     */
    Membership initialMembership() {
      final Map<Long, String> voters = new TreeMap<>();
      peers.forEach((nodeId, peer) -> {
        if (!(learner && nodeId == id)) {
          voters.put(nodeId, peer.raftAddress());
        }
      });
      return Membership.ofVoters(voters);
    }
  }

  private final Settings settings;
  private final KvStateMachine stateMachine;
  private final Raft<KvResult> raft;
  private final HttpServer http;

  private KvNode(
      final Settings settings, final KvStateMachine stateMachine, final Raft<KvResult> raft, final HttpServer http) {
    this.settings = settings;
    this.stateMachine = stateMachine;
    this.raft = raft;
    this.http = http;
  }

  /**
   * Starts the Raft node (opening its storage, binding its transport) and the HTTP server.
   *
   * @throws io.raftkit.api.error.ConfigException for a bad setting or an unknown provider name
   * @throws java.io.UncheckedIOException if storage or a port cannot be opened
   */
  static KvNode start(final Settings settings) {
    return start(settings, Config.builder().clusterId(CLUSTER_ID).build());
  }

  /** Like {@link #start(Settings)}, with {@code config} (tests tune it; its cluster id must agree). */
  static KvNode start(final Settings settings, final Config config) {
    return start(settings, config, TlsSettings.NONE);
  }

  /** Like {@link #start(Settings)}, with TLS on Raft links and/or the HTTP API. */
  static KvNode start(final Settings settings, final TlsSettings tls) {
    return start(settings, Config.builder().clusterId(CLUSTER_ID).build(), tls);
  }

  /**
   * Like {@link #start(Settings, Config)}, with TLS on Raft links and/or the HTTP API.
   *
   * @throws java.io.UncheckedIOException also if a TLS file cannot be used (checked before
   *     anything starts)
   */
  static KvNode start(final Settings settings, final Config config, final TlsSettings tls) {
    final SslContext httpTls = tls.httpServerContext();
    final KvStateMachine stateMachine = new KvStateMachine();
    final RaftBuilder<KvResult> builder =
        Raft.<KvResult>builder()
            .nodeId(settings.id())
            .config(config)
            .stateMachine(stateMachine)
            .transport(settings.transport())
            .storage(settings.storage())
            .bindAddress(settings.raftBind());
    tls.raftOptions().forEach(builder::option);
    if (!settings.peerRoutes().isEmpty()) {
      builder.transport(RoutedTransportProvider.NAME).option(RoutedTransportProvider.DELEGATE, settings.transport());
      settings.peerRoutes().forEach(
          (peer, address) -> builder.option(RoutedTransportProvider.ROUTE_PREFIX + peer, address));
    }
    if (settings.dataDir() != null) {
      builder.dataDir(settings.dataDir());
    }
    final Raft<KvResult> raft = builder.build();
    try {
      final HttpServer http =
          HttpServer.start(settings.httpBind(), new HttpApi(settings, raft, stateMachine), httpTls);
      return new KvNode(settings, stateMachine, raft, http);
    } catch (final RuntimeException e) {
      raft.close();
      throw e;
    }
  }

  /** This node's id. */
  long id() {
    return settings.id();
  }

  /** The settings it was started with. */
  Settings settings() {
    return settings;
  }

  /** The Raft handle. */
  Raft<KvResult> raft() {
    return raft;
  }

  /** The local state machine. */
  KvStateMachine stateMachine() {
    return stateMachine;
  }

  /** The address the HTTP server listens at. */
  String httpAddress() {
    return http.localAddress();
  }

  /** Forms the cluster of every peer, as voters (see {@link Raft#initialize}). */
  CompletableFuture<Void> initialize() {
    return raft.initialize(settings.initialMembership());
  }

  @Override
  public void close() {
    try {
      http.close();
    } finally {
      raft.close();
    }
  }
}
