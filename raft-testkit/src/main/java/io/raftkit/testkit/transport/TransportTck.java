package io.raftkit.testkit.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The conformance suite of {@link io.raftkit.api.spi.Transport}: extend it in a provider's tests,
 * name the provider and say how to address a node, and every case runs against that provider.
 *
 * <pre>{@code
 * class NettyTransportTckTest extends TransportTck {
 *   protected String providerName() { return "netty"; }
 *   protected String bindAddress(long nodeId) { return "127.0.0.1:0"; }
 * }
 * }</pre>
 *
 * <p>What it checks: every RPC (vote, pre-vote, append with entries of every kind, heartbeat, their
 * responses) arrives field for field; a 16 MiB payload; 10,000 requests in flight at once;
 * responses completed out of order reach the right caller; a peer that is down fails the future
 * within the timeout and works again once it is back at the same address; close fails everything
 * pending with {@link ShutdownException}; a peer of another cluster, or a node id that does not
 * match the address, is refused; {@code send} never throws.
 *
 * <p>Test and lifecycle methods are public so that JUnit may call them on the module path without
 * this package being opened.
 *
 * <p>Nodes bind with {@link #bindAddress}; peers reach them at {@link Transport#localAddress()}. A
 * node restarted by the suite binds the {@code localAddress()} of its previous run. Every
 * transport the suite creates is closed after each test. Waits have generous deadlines
 * ({@link #WAIT}); no case asserts on timing.
 */
public abstract class TransportTck {

  /** How long a case waits for an outcome before it fails. */
  protected static final Duration WAIT = Duration.ofSeconds(30);

  /** The RPC timeout of nodes that should not time out during a case. */
  protected static final Duration LONG_RPC_TIMEOUT = Duration.ofSeconds(60);

  /** The cluster id of the suite's nodes (unless a case says otherwise). */
  protected static final String CLUSTER = "tck";

  /** What a node's handler received: the sender and the request. */
  protected record Received(long from, RaftRequest request) {}

  /** Decides a node's answer to a request; called on the transport's thread. */
  @FunctionalInterface
  protected interface Responder {
    /**
     * Answers a request.
     *
     * @param from the sender
     * @param request the request
     * @return the future answer
     */
    CompletableFuture<RaftResponse> respond(long from, RaftRequest request);
  }

  /** A node under test: its transport and what its handler received. */
  protected static final class Node {
    private final long id;
    private final Transport transport;
    private final ConcurrentLinkedQueue<Received> received;

    Node(final long id, final Transport transport, final ConcurrentLinkedQueue<Received> received) {
      this.id = id;
      this.transport = transport;
      this.received = received;
    }

    /**
     * The node id.
     *
     * @return the id
     */
    public long id() {
      return id;
    }

    /**
     * The node's transport.
     *
     * @return the transport
     */
    public Transport transport() {
      return transport;
    }

    /**
     * Where peers reach this node.
     *
     * @return {@link Transport#localAddress()}
     */
    public String address() {
      return transport.localAddress();
    }

    /**
     * What its handler received, in arrival order.
     *
     * @return a snapshot
     */
    public List<Received> received() {
      return List.copyOf(received);
    }

    /**
     * Sends a request to another node.
     *
     * @param target the target node
     * @param request the request
     * @return the future response
     */
    public CompletableFuture<RaftResponse> send(final Node target, final RaftRequest request) {
      return transport.send(target.id, target.address(), request);
    }
  }

  private final List<Transport> opened = new CopyOnWriteArrayList<>();

  /**
   * The name of the provider under test, as {@link Providers#transport} finds it.
   *
   * @return the name
   */
  protected abstract String providerName();

  /**
   * Where a new node binds, in the provider's syntax; may ask for an ephemeral port.
   *
   * @param nodeId the node
   * @return the bind address
   */
  protected abstract String bindAddress(long nodeId);

  /**
   * The provider options of every node; none by default.
   *
   * @return the options
   */
  protected Map<String, String> options() {
    return Map.of();
  }

  /**
   * Prepares what the provider needs before the nodes of one case start (a simulated network, a
   * media driver); nothing by default.
   *
   * @throws Exception if it cannot
   */
  protected void openEnvironment() throws Exception {}

  /**
   * Releases what {@link #openEnvironment()} made; runs after the case's transports are closed.
   *
   * @throws Exception if it cannot
   */
  protected void closeEnvironment() throws Exception {}

  /**
   * Runs {@link #openEnvironment()} before each case.
   *
   * @throws Exception if it fails
   */
  @BeforeEach
  public final void openTckEnvironment() throws Exception {
    openEnvironment();
  }

  /**
   * Closes every transport the case started, then runs {@link #closeEnvironment()}.
   *
   * @throws Exception if closing fails
   */
  @AfterEach
  public final void closeTckNodes() throws Exception {
    try {
      for (final Transport t : opened) {
        t.close();
      }
      opened.clear();
    } finally {
      closeEnvironment();
    }
  }

  // ------------------------------------------------------------------------------ node helpers

  /**
   * The provider under test, found through {@link java.util.ServiceLoader}.
   *
   * @return the provider
   */
  protected final TransportProvider provider() {
    return Providers.transport(providerName());
  }

  /**
   * Starts a node that answers at once (see {@link #echo}).
   *
   * @param id the node id
   * @return the node
   * @throws IOException if the transport cannot start
   */
  protected final Node start(final long id) throws IOException {
    return start(id, CLUSTER, bindAddress(id), TransportTck::echo, LONG_RPC_TIMEOUT);
  }

  /**
   * Starts a node; the suite closes it after the case.
   *
   * @param id the node id
   * @param cluster its cluster id
   * @param bindAddress where it binds
   * @param responder how it answers
   * @param rpcTimeout its RPC timeout
   * @return the node
   * @throws IOException if the transport cannot start
   */
  protected final Node start(
      final long id, final String cluster, final String bindAddress, final Responder responder,
      final Duration rpcTimeout) throws IOException {
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    final Transport transport =
        provider()
            .create(
                new TransportContext(
                    id,
                    cluster,
                    bindAddress,
                    (from, request) -> {
                      received.add(new Received(from, request));
                      return responder.respond(from, request);
                    },
                    rpcTimeout,
                    options()));
    opened.add(transport);
    return new Node(id, transport, received);
  }

  /**
   * The answer of a willing node: a granted vote echoing term and pre-vote flag, or a successful
   * append up to the request's last entry.
   *
   * @param from the sender
   * @param request the request
   * @return a completed future
   */
  protected static CompletableFuture<RaftResponse> echo(final long from, final RaftRequest request) {
    final RaftResponse response =
        switch (request.kind()) {
          case VOTE -> new VoteResponse(request.term(), true, ((VoteRequest) request).preVote());
          case APPEND -> AppendResponse.success(request.term(), ((AppendRequest) request).lastLogId().index());
          case TIMEOUT_NOW -> new io.raftkit.api.message.TimeoutNowResponse(request.term(), true);
          case INSTALL_SNAPSHOT -> {
            final io.raftkit.api.message.InstallSnapshotRequest c = (io.raftkit.api.message.InstallSnapshotRequest) request;
            yield new io.raftkit.api.message.InstallSnapshotResponse(
                request.term(), c.offset() + c.data().length, c.done());
          }
          case READ_INDEX -> new io.raftkit.api.message.ReadIndexResponse(request.term(), true, 42, 0);
        };
    return CompletableFuture.completedFuture(response);
  }

  /**
   * A vote request.
   *
   * @param term the term
   * @param candidate the candidate
   * @return the request
   */
  protected static VoteRequest vote(final long term, final long candidate) {
    return new VoteRequest(term, candidate, LogId.of(term > 0 ? term - 1 : 0, term > 0 ? 10 : 0), false);
  }

  private static <T> T await(final CompletableFuture<T> future) throws Exception {
    try {
      return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (final TimeoutException e) {
      throw new AssertionError("no outcome within " + WAIT, e);
    }
  }

  private static Throwable failureOf(final CompletableFuture<?> future) {
    try {
      future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected a failure but future succeeded with " + future.join());
    } catch (final ExecutionException e) {
      return e.getCause();
    } catch (final TimeoutException e) {
      throw new AssertionError("future neither failed nor succeeded within " + WAIT, e);
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  // ------------------------------------------------------------------------------ discovery

  /** Conformance case: should be found by name through service loader. */
  @Test
  public void shouldBeFoundByNameThroughServiceLoader() {
    assertThat(provider().name()).isEqualTo(providerName());
    assertThat(Providers.transportNames()).contains(providerName());
  }

  /** Conformance case: should report an address peers reach. */
  @Test
  public void shouldReportAnAddressPeersReach() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(n2.address()).isNotBlank();
    assertThat(await(n1.send(n2, vote(1, 1)))).isEqualTo(new VoteResponse(1, true, false));
  }

  // ------------------------------------------------------------------------------ every RPC

  /** Conformance case: should carry vote request and response field for field. */
  @Test
  public void shouldCarryVoteRequestAndResponseFieldForField() throws Exception {
    final VoteRequest request = new VoteRequest(7, 1, LogId.of(6, 42), false);
    final Node n1 = start(1);
    final Node n2 = start(2, CLUSTER, bindAddress(2), (f, r) -> done(new VoteResponse(8, false, false)), LONG_RPC_TIMEOUT);

    assertThat(await(n1.send(n2, request))).isEqualTo(new VoteResponse(8, false, false));
    assertThat(n2.received()).containsExactly(new Received(1, request));
  }

  /** Conformance case: should carry pre vote request and response. */
  @Test
  public void shouldCarryPreVoteRequestAndResponse() throws Exception {
    final VoteRequest request = new VoteRequest(9, 3, LogId.of(8, 100), true);
    final Node n3 = start(3);
    final Node n1 = start(1);

    assertThat(await(n3.send(n1, request))).isEqualTo(new VoteResponse(9, true, true));
    assertThat(n1.received()).containsExactly(new Received(3, request));
  }

  /** Conformance case: should carry a leadership-transfer vote and TimeoutNow. */
  @Test
  public void shouldCarryTimeoutNowAndATransferVote() throws Exception {
    final io.raftkit.api.message.TimeoutNowRequest timeoutNow = new io.raftkit.api.message.TimeoutNowRequest(4, 1);
    final VoteRequest transferVote = new VoteRequest(5, 2, LogId.of(4, 20), false, true);
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(await(n1.send(n2, timeoutNow))).isEqualTo(new io.raftkit.api.message.TimeoutNowResponse(4, true));
    assertThat(await(n2.send(n1, transferVote))).isEqualTo(new VoteResponse(5, true, false));
    assertThat(n2.received()).containsExactly(new Received(1, timeoutNow));
    assertThat(n1.received()).containsExactly(new Received(2, transferVote));
  }

  /** Conformance case: should carry snapshot chunks (a large one too) and read-index requests. */
  @Test
  public void shouldCarrySnapshotChunksAndReadIndex() throws Exception {
    final io.raftkit.api.SnapshotMeta meta = new io.raftkit.api.SnapshotMeta(LogId.of(3, 5000),
        new io.raftkit.api.StoredMembership(LogId.of(1, 1),
            io.raftkit.api.Membership.ofVoters(java.util.Map.of(1L, "a", 2L, "b", 3L, "c"))),
        "snap-3-5000");
    final byte[] big = new byte[1 << 20];
    new java.util.Random(11).nextBytes(big);
    final io.raftkit.api.message.InstallSnapshotRequest first =
        new io.raftkit.api.message.InstallSnapshotRequest(3, 1, meta, 0, big, false);
    final io.raftkit.api.message.InstallSnapshotRequest last =
        new io.raftkit.api.message.InstallSnapshotRequest(3, 1, meta, big.length, new byte[] {1, 2, 3}, true);
    final io.raftkit.api.message.ReadIndexRequest readIndex = new io.raftkit.api.message.ReadIndexRequest(3, 2);
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(await(n1.send(n2, first)))
        .isEqualTo(new io.raftkit.api.message.InstallSnapshotResponse(3, big.length, false));
    assertThat(await(n1.send(n2, last)))
        .isEqualTo(new io.raftkit.api.message.InstallSnapshotResponse(3, big.length + 3, true));
    assertThat(await(n2.send(n1, readIndex)))
        .isEqualTo(new io.raftkit.api.message.ReadIndexResponse(3, true, 42, 0));
    assertThat(n2.received()).containsExactly(new Received(1, first), new Received(1, last));
    assertThat(n1.received()).containsExactly(new Received(2, readIndex));
  }

  /** Conformance case: should carry append with entries of every kind. */
  @Test
  public void shouldCarryAppendWithEntriesOfEveryKind() throws Exception {
    final List<Entry> entries =
        List.of(
            Entry.blank(LogId.of(5, 11)),
            Entry.normal(LogId.of(5, 12), new byte[] {1, 2, 3, 4}),
            Entry.membership(LogId.of(5, 13), Membership.ofVoters(Map.of(1L, "a", 2L, "b", 3L, "c"))),
            Entry.normal(LogId.of(5, 14), new byte[0]));
    final AppendRequest request = new AppendRequest(5, 1, LogId.of(4, 10), entries, 9);
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(await(n1.send(n2, request))).isEqualTo(AppendResponse.success(5, 14));
    assertThat(n2.received()).containsExactly(new Received(1, request));
    final AppendRequest got = (AppendRequest) n2.received().get(0).request();
    assertThat(got.entries()).containsExactlyElementsOf(entries);
    assertThat(got.entries().get(2).membership()).isEqualTo(entries.get(2).membership());
  }

  /** Conformance case: should carry heartbeat without entries. */
  @Test
  public void shouldCarryHeartbeatWithoutEntries() throws Exception {
    final AppendRequest heartbeat = new AppendRequest(3, 2, LogId.of(3, 50), List.of(), 48);
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(await(n2.send(n1, heartbeat))).isEqualTo(AppendResponse.success(3, 50));
    assertThat(n1.received()).containsExactly(new Received(2, heartbeat));
  }

  /** Conformance case: should carry conflict response. */
  @Test
  public void shouldCarryConflictResponse() throws Exception {
    final Node n1 = start(1);
    final Node n2 =
        start(2, CLUSTER, bindAddress(2), (f, r) -> done(AppendResponse.conflict(6, 17)), LONG_RPC_TIMEOUT);

    assertThat(await(n1.send(n2, new AppendRequest(6, 1, LogId.of(6, 30), List.of(), 20))))
        .isEqualTo(AppendResponse.conflict(6, 17));
  }

  /** Conformance case: should carry extreme field values. */
  @Test
  public void shouldCarryExtremeFieldValues() throws Exception {
    final long max = Long.MAX_VALUE;
    final VoteRequest vote = new VoteRequest(max, max, LogId.of(max, max), true);
    final AppendRequest append =
        new AppendRequest(max, max, LogId.of(max, max - 1), List.of(Entry.blank(LogId.of(max, max))), max);
    final Node n1 = start(1);
    final Node n2 =
        start(
            2,
            CLUSTER,
            bindAddress(2),
            (f, r) -> done(r.kind() == RaftRequest.Kind.VOTE
                ? new VoteResponse(max, true, true)
                : new AppendResponse(max, false, max, max)),
            LONG_RPC_TIMEOUT);

    assertThat(await(n1.send(n2, vote))).isEqualTo(new VoteResponse(max, true, true));
    assertThat(await(n1.send(n2, append))).isEqualTo(new AppendResponse(max, false, max, max));
    assertThat(n2.received()).extracting(Received::request).containsExactly(vote, append);
  }

  /** Conformance case: should tell handler which node sent. */
  @Test
  public void shouldTellHandlerWhichNodeSent() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2);
    final Node n3 = start(3);

    await(n1.send(n3, vote(1, 1)));
    await(n2.send(n3, vote(2, 2)));

    assertThat(n3.received()).containsExactly(new Received(1, vote(1, 1)), new Received(2, vote(2, 2)));
  }

  /** Conformance case: should carry sixteen mebibyte payload. */
  @Test
  public void shouldCarrySixteenMebibytePayload() throws Exception {
    final byte[] payload = new byte[16 << 20];
    new Random(16).nextBytes(payload);
    final AppendRequest request =
        new AppendRequest(2, 1, LogId.of(1, 7), List.of(Entry.normal(LogId.of(2, 8), payload)), 7);
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(await(n1.send(n2, request))).isEqualTo(AppendResponse.success(2, 8));
    final AppendRequest got = (AppendRequest) n2.received().get(0).request();
    assertThat(got.entries().get(0).payload()).isEqualTo(payload);
  }

  // ------------------------------------------------------------------------------ concurrency

  /** Conformance case: should keep ten thousand requests in flight. */
  @Test
  public void shouldKeepTenThousandRequestsInFlight() throws Exception {
    final int count = 10_000;
    final List<CompletableFuture<RaftResponse>> held = new CopyOnWriteArrayList<>();
    final CountDownLatch allArrived = new CountDownLatch(count);
    final Node n2 =
        start(
            2,
            CLUSTER,
            bindAddress(2),
            (f, r) -> {
              final CompletableFuture<RaftResponse> answer = new CompletableFuture<>();
              held.add(answer);
              allArrived.countDown();
              return answer.thenApply(ignored -> new VoteResponse(r.term(), true, false));
            },
            LONG_RPC_TIMEOUT);
    final Node n1 = start(1);

    final List<CompletableFuture<RaftResponse>> responses = new ArrayList<>(count);
    for (int i = 1; i <= count; i++) {
      responses.add(n1.send(n2, vote(i, 1)));
    }
    // Every request reaches the handler while none has an answer: all are in flight at once.
    assertThat(allArrived.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .as("arrived=%d of %d", count - allArrived.getCount(), count)
        .isTrue();
    assertThat(responses).noneMatch(CompletableFuture::isDone);
    for (final CompletableFuture<RaftResponse> answer : held) {
      answer.complete(new VoteResponse(0, true, false));
    }

    for (int i = 0; i < count; i++) {
      assertThat(await(responses.get(i)).term()).isEqualTo(i + 1L);
    }
  }

  /** Conformance case: should match responses completed out of order. */
  @Test
  public void shouldMatchResponsesCompletedOutOfOrder() throws Exception {
    final int count = 200;
    final Map<Long, CompletableFuture<RaftResponse>> byTerm = new java.util.concurrent.ConcurrentHashMap<>();
    final Node n2 =
        start(
            2,
            CLUSTER,
            bindAddress(2),
            (f, r) -> byTerm.computeIfAbsent(r.term(), t -> new CompletableFuture<>()),
            LONG_RPC_TIMEOUT);
    final Node n1 = start(1);
    final List<CompletableFuture<RaftResponse>> responses = new ArrayList<>();
    for (long term = 1; term <= count; term++) {
      responses.add(n1.send(n2, vote(term, 1)));
    }
    awaitCondition(() -> byTerm.size() == count, "all " + count + " requests arrived");

    final List<Long> order = new ArrayList<>(byTerm.keySet());
    Collections.shuffle(order, new Random(42));
    for (final long term : order) {
      // Each answer names its request's term, so a mismatch shows.
      byTerm.get(term).complete(new VoteResponse(term, term % 2 == 0, false));
    }

    for (int i = 0; i < count; i++) {
      final long term = i + 1L;
      assertThat(await(responses.get(i))).isEqualTo(new VoteResponse(term, term % 2 == 0, false));
    }
  }

  /** Conformance case: should deliver requests from one thread in send order. */
  @Test
  public void shouldDeliverRequestsFromOneThreadInSendOrder() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2);
    final List<CompletableFuture<RaftResponse>> responses = new ArrayList<>();
    final List<Long> expected = new ArrayList<>();

    for (long term = 1; term <= 500; term++) {
      responses.add(n1.send(n2, vote(term, 1)));
      expected.add(term);
    }
    for (final CompletableFuture<RaftResponse> r : responses) {
      await(r);
    }

    assertThat(n2.received()).extracting(r -> r.request().term()).containsExactlyElementsOf(expected);
  }

  /** Conformance case: should serve both directions and many senders at once. */
  @Test
  public void shouldServeBothDirectionsAndManySendersAtOnce() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2);
    final Node n3 = start(3);
    final int perSender = 500;
    final List<Thread> threads = new ArrayList<>();
    final List<CompletableFuture<RaftResponse>> responses = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> thrown = new AtomicReference<>();
    final Node[][] pairs = {{n1, n2}, {n2, n1}, {n3, n1}, {n3, n2}, {n1, n3}};
    for (final Node[] pair : pairs) {
      final Thread t =
          new Thread(
              () -> {
                try {
                  for (int i = 1; i <= perSender; i++) {
                    responses.add(pair[0].send(pair[1], vote(i, pair[0].id())));
                  }
                } catch (final Throwable e) {
                  thrown.set(e);
                }
              },
              "tck-sender-" + pair[0].id() + "-" + pair[1].id());
      threads.add(t);
      t.start();
    }
    for (final Thread t : threads) {
      t.join(WAIT.toMillis());
      assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
    }

    assertThat(thrown.get()).isNull();
    assertThat(responses).hasSize(pairs.length * perSender);
    for (final CompletableFuture<RaftResponse> r : responses) {
      assertThat(await(r)).isInstanceOf(VoteResponse.class);
    }
    assertThat(n1.received()).hasSize(2 * perSender);
    assertThat(n2.received()).hasSize(2 * perSender);
    assertThat(n3.received()).hasSize(perSender);
  }

  // ------------------------------------------------------------------------------ failures

  /** Conformance case: should fail within timeout when peer is down. */
  @Test
  public void shouldFailWithinTimeoutWhenPeerIsDown() throws Exception {
    final Node n1 = start(1, CLUSTER, bindAddress(1), TransportTck::echo, Duration.ofSeconds(2));
    final Node n2 = start(2);
    await(n1.send(n2, vote(1, 1)));
    n2.transport().close();

    assertThat(failureOf(n1.send(n2, vote(2, 1)))).isInstanceOf(UnreachableException.class);
  }

  /** Conformance case: should work again when peer returns at its address. */
  @Test
  public void shouldWorkAgainWhenPeerReturnsAtItsAddress() throws Exception {
    final Node n1 = start(1, CLUSTER, bindAddress(1), TransportTck::echo, Duration.ofSeconds(2));
    final Node n2 = start(2);
    await(n1.send(n2, vote(1, 1)));
    final String address = n2.address();
    n2.transport().close();
    assertThat(failureOf(n1.send(n2, vote(2, 1)))).isInstanceOf(UnreachableException.class);

    final Node back = start(2, CLUSTER, address, TransportTck::echo, LONG_RPC_TIMEOUT);

    final long deadline = System.nanoTime() + WAIT.toNanos();
    long term = 3;
    while (true) {
      final CompletableFuture<RaftResponse> r = n1.send(back, vote(term, 1));
      try {
        assertThat(r.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(new VoteResponse(term, true, false));
        break;
      } catch (final ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(UnreachableException.class);
        if (System.nanoTime() - deadline > 0) {
          throw new AssertionError("peer did not become reachable again within " + WAIT, e);
        }
        awaitQuietly(Duration.ofMillis(20));
      }
      term++;
    }
    assertThat(back.received()).extracting(Received::from).contains(1L);
  }

  /** Conformance case: should time out when no response comes within rpc timeout. */
  @Test
  public void shouldTimeOutWhenNoResponseComesWithinRpcTimeout() throws Exception {
    final Node n1 = start(1, CLUSTER, bindAddress(1), TransportTck::echo, Duration.ofMillis(200));
    // Answers term 1 at once (to warm the link up), never anything else.
    final Node n2 =
        start(
            2,
            CLUSTER,
            bindAddress(2),
            (f, r) -> r.term() == 1 ? echo(f, r) : new CompletableFuture<>(),
            LONG_RPC_TIMEOUT);
    final long deadline = System.nanoTime() + WAIT.toNanos();
    boolean warm = false;
    while (!warm) {
      warm = n1.send(n2, vote(1, 1)).handle((r, e) -> e == null).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (!warm && System.nanoTime() - deadline > 0) {
        throw new AssertionError("link 1 -> 2 never answered within " + WAIT);
      }
    }

    final Throwable failure = failureOf(n1.send(n2, vote(2, 1)));

    assertThat(failure).isInstanceOf(UnreachableException.class).hasMessageContaining("rpcTimeout=200ms");
  }

  /** Conformance case: should report failed handler future as unreachable. */
  @Test
  public void shouldReportFailedHandlerFutureAsUnreachable() throws Exception {
    final Node n1 = start(1);
    final Node n2 =
        start(
            2,
            CLUSTER,
            bindAddress(2),
            (f, r) -> CompletableFuture.failedFuture(new ShutdownException("node 2 stopping")),
            LONG_RPC_TIMEOUT);

    assertThat(failureOf(n1.send(n2, vote(1, 1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("node 2 stopping");
  }

  /** Conformance case: should report throwing handler as unreachable and keep serving. */
  @Test
  public void shouldReportThrowingHandlerAsUnreachableAndKeepServing() throws Exception {
    final Node n1 = start(1);
    final Node n2 =
        start(
            2,
            CLUSTER,
            bindAddress(2),
            (f, r) -> {
              if (r.term() == 1) {
                throw new IllegalStateException("handler bug");
              }
              return echo(f, r);
            },
            LONG_RPC_TIMEOUT);

    assertThat(failureOf(n1.send(n2, vote(1, 1)))).isInstanceOf(UnreachableException.class);
    assertThat(await(n1.send(n2, vote(2, 1)))).isEqualTo(new VoteResponse(2, true, false));
  }

  /** Conformance case: should fail requests pending at peer that closes. */
  @Test
  public void shouldFailRequestsPendingAtPeerThatCloses() throws Exception {
    final Node n1 = start(1, CLUSTER, bindAddress(1), TransportTck::echo, Duration.ofSeconds(5));
    final Node n2 = start(2, CLUSTER, bindAddress(2), (f, r) -> new CompletableFuture<>(), LONG_RPC_TIMEOUT);
    final CompletableFuture<RaftResponse> pending = n1.send(n2, vote(1, 1));
    awaitCondition(() -> n2.received().size() == 1, "request arrived");

    n2.transport().close();

    assertThat(failureOf(pending)).isInstanceOf(UnreachableException.class);
  }

  /** Conformance case: should fail pending requests with shutdown on close. */
  @Test
  public void shouldFailPendingRequestsWithShutdownOnClose() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2, CLUSTER, bindAddress(2), (f, r) -> new CompletableFuture<>(), LONG_RPC_TIMEOUT);
    final List<CompletableFuture<RaftResponse>> pending = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      pending.add(n1.send(n2, vote(i, 1)));
    }
    awaitCondition(() -> n2.received().size() == 100, "all requests arrived");
    assertThat(pending).noneMatch(CompletableFuture::isDone);

    n1.transport().close();

    for (final CompletableFuture<RaftResponse> p : pending) {
      assertThat(failureOf(p)).isInstanceOf(ShutdownException.class);
    }
  }

  /** Conformance case: should fail sends after close with shutdown and close idempotently. */
  @Test
  public void shouldFailSendsAfterCloseWithShutdownAndCloseIdempotently() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2);
    await(n1.send(n2, vote(1, 1)));

    n1.transport().close();
    n1.transport().close();

    assertThat(failureOf(n1.send(n2, vote(2, 1)))).isInstanceOf(ShutdownException.class);
    assertThat(n2.received()).hasSize(1);
  }

  /** Conformance case: should never throw from send. */
  @Test
  public void shouldNeverThrowFromSend() throws Exception {
    final Node n1 = start(1);

    assertThat(failureOf(n1.transport().send(2, null, vote(1, 1)))).isInstanceOf(UnreachableException.class);
    assertThat(failureOf(n1.transport().send(2, n1.address(), null))).isInstanceOf(UnreachableException.class);
    assertThat(failureOf(n1.transport().send(2, "no such address", vote(1, 1))))
        .isInstanceOf(UnreachableException.class);
  }

  /** Conformance case: should refuse second transport at same address. */
  @Test
  public void shouldRefuseSecondTransportAtSameAddress() throws Exception {
    final Node n1 = start(1);

    assertThatThrownBy(() -> start(9, CLUSTER, n1.address(), TransportTck::echo, LONG_RPC_TIMEOUT))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(n1.address());
  }

  // ------------------------------------------------------------------------------ handshake

  /** Conformance case: should refuse peer of another cluster and keep serving its own. */
  @Test
  public void shouldRefusePeerOfAnotherClusterAndKeepServingItsOwn() throws Exception {
    final Node alpha = start(1, "alpha", bindAddress(1), TransportTck::echo, LONG_RPC_TIMEOUT);
    final Node beta = start(2, "beta", bindAddress(2), TransportTck::echo, LONG_RPC_TIMEOUT);
    final Node beta3 = start(3, "beta", bindAddress(3), TransportTck::echo, LONG_RPC_TIMEOUT);

    assertThat(failureOf(alpha.send(beta, vote(1, 1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("clusterId=beta")
        .hasMessageContaining("clusterId=alpha");
    assertThat(failureOf(beta.send(alpha, vote(1, 2)))).isInstanceOf(UnreachableException.class);
    assertThat(beta.received()).isEmpty();
    assertThat(alpha.received()).isEmpty();
    assertThat(await(beta3.send(beta, vote(2, 3)))).isEqualTo(new VoteResponse(2, true, false));
  }

  /** Conformance case: should refuse when address belongs to another node id. */
  @Test
  public void shouldRefuseWhenAddressBelongsToAnotherNodeId() throws Exception {
    final Node n1 = start(1);
    final Node n2 = start(2);

    assertThat(failureOf(n1.transport().send(3, n2.address(), vote(1, 1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("targetId=3");
    assertThat(n2.received()).isEmpty();
  }

  // ------------------------------------------------------------------------------ waiting

  private static CompletableFuture<RaftResponse> done(final RaftResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  /**
   * Waits until {@code condition} holds, polling with short parks, or fails after {@link #WAIT}.
   *
   * @param condition the condition
   * @param what what it means, for the failure message
   */
  protected static void awaitCondition(final java.util.function.BooleanSupplier condition, final String what) {
    final long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + WAIT + ": " + what);
      }
      awaitQuietly(Duration.ofMillis(2));
    }
  }

  private static void awaitQuietly(final Duration pause) {
    java.util.concurrent.locks.LockSupport.parkNanos(pause.toNanos());
    if (Thread.currentThread().isInterrupted()) {
      throw new AssertionError("interrupted");
    }
  }
}
