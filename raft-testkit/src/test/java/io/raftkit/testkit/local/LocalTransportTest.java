package io.raftkit.testkit.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import io.raftkit.api.error.ConfigException;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import io.raftkit.testkit.LocalNetwork;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LocalTransportTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Duration RPC_TIMEOUT = Duration.ofSeconds(30);

  /** What a node's handler received: the sender and the request. */
  private record Received(long from, RaftRequest request) {}

  /** A node under test: its transport and what its handler received. */
  private static final class Node {
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    Transport transport;

    List<Long> receivedTerms() {
      final List<Long> terms = new ArrayList<>();
      for (final Received r : received) {
        terms.add(r.request().term());
      }
      return terms;
    }
  }

  private final TransportProvider provider = new LocalTransportProvider();
  private LocalNetwork network;

  @BeforeEach
  void createNetwork() {
    network = LocalNetwork.create();
  }

  @AfterEach
  void closeNetwork() {
    network.close();
  }

  private static VoteRequest vote(final long term, final long candidate) {
    return new VoteRequest(term, candidate, LogId.ZERO, false);
  }

  private TransportContext context(
      final long id, final String cluster, final RequestHandler handler, final Duration rpcTimeout) {
    return new TransportContext(
        id, cluster, "node" + id, handler, rpcTimeout, Map.of(LocalNetwork.NETWORK_OPTION, network.name()));
  }

  /** A node whose handler records the request and grants at once, echoing the term. */
  private Node echoNode(final long id) throws IOException {
    return echoNode(id, "c1");
  }

  private Node echoNode(final long id, final String cluster) throws IOException {
    final Node node = new Node();
    node.transport =
        provider.create(
            context(
                id,
                cluster,
                (from, request) -> {
                  node.received.add(new Received(from, request));
                  return CompletableFuture.completedFuture(new VoteResponse(request.term(), true, false));
                },
                RPC_TIMEOUT));
    return node;
  }

  /** A node whose handler records the request and returns the given futures, in order. */
  private Node scriptedNode(
      final long id, final Duration rpcTimeout, final List<CompletableFuture<RaftResponse>> answers)
      throws IOException {
    final Node node = new Node();
    final ConcurrentLinkedQueue<CompletableFuture<RaftResponse>> queue = new ConcurrentLinkedQueue<>(answers);
    node.transport =
        provider.create(
            context(
                id,
                "c1",
                (from, request) -> {
                  node.received.add(new Received(from, request));
                  return queue.remove();
                },
                rpcTimeout));
    return node;
  }

  @Test
  void shouldBeFoundByNameThroughServiceLoader() {
    final TransportProvider found = Providers.transport("local");

    assertThat(found.name()).isEqualTo(LocalNetwork.PROVIDER_NAME);
    assertThat(Providers.transportNames()).contains("local");
  }

  @Test
  void shouldDeliverRequestAndRelayResponse() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);

    final CompletableFuture<RaftResponse> response = n1.transport.send(2, "node2", vote(7, 1));

    assertThat(response).succeedsWithin(WAIT).isEqualTo(new VoteResponse(7, true, false));
    assertThat(n2.received).containsExactly(new Received(1, vote(7, 1)));
    assertThat(n1.received).isEmpty();
    assertThat(n1.transport.localAddress()).isEqualTo("node1");
    assertThat(network.addresses()).containsExactly("node1", "node2");
    assertThat(network.delivered()).isEqualTo(1);
  }

  @Test
  void shouldRelayResponseCompletedLaterOnAnotherThread() throws Exception {
    final CompletableFuture<RaftResponse> answer = new CompletableFuture<>();
    final Node n1 = echoNode(1);
    scriptedNode(2, RPC_TIMEOUT, List.of(answer));

    final CompletableFuture<RaftResponse> response = n1.transport.send(2, "node2", vote(3, 1));
    assertThat(response).isNotDone();
    final Thread completer = new Thread(() -> answer.complete(new VoteResponse(3, false, false)));
    completer.start();
    completer.join(WAIT.toMillis());

    assertThat(response).succeedsWithin(WAIT).isEqualTo(new VoteResponse(3, false, false));
  }

  @Test
  void shouldFailAtOnceWithoutDeliveringWhenRequestDirectionIsCut() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);
    network.cut(1, 2);

    final CompletableFuture<RaftResponse> response = n1.transport.send(2, "node2", vote(1, 1));

    assertThat(response).isCompletedExceptionally();
    assertThat(response)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("nodeId=1 -> nodeId=2 is cut");
    assertThat(n2.received).isEmpty();
    // The other way the request gets through, and its response (1 -> 2) is dropped.
    assertThat(n2.transport.send(1, "node1", vote(2, 2))).failsWithin(WAIT);
    assertThat(n1.received).containsExactly(new Received(2, vote(2, 2)));
    assertThat(network.isCut(1, 2)).isTrue();
    assertThat(network.isCut(2, 1)).isFalse();
    assertThat(network.dropped()).isEqualTo(2);
    assertThat(network.delivered()).isEqualTo(1);
  }

  @Test
  void shouldDeliverRequestButDropResponseWhenResponseDirectionIsCut() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);
    network.cut(2, 1);

    final CompletableFuture<RaftResponse> response = n1.transport.send(2, "node2", vote(4, 1));

    assertThat(response)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("nodeId=2 -> nodeId=1 is cut");
    assertThat(n2.received).containsExactly(new Received(1, vote(4, 1)));
  }

  @Test
  void shouldIsolateNodeBothWaysUntilRejoined() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);
    final Node n3 = echoNode(3);
    network.isolate(2);

    assertThat(n1.transport.send(2, "node2", vote(1, 1))).failsWithin(WAIT);
    assertThat(n2.transport.send(3, "node3", vote(1, 2))).failsWithin(WAIT);
    assertThat(n1.transport.send(3, "node3", vote(1, 1))).succeedsWithin(WAIT);
    assertThat(n2.received).isEmpty();

    network.rejoin(2);

    assertThat(n1.transport.send(2, "node2", vote(2, 1))).succeedsWithin(WAIT);
    assertThat(n2.transport.send(3, "node3", vote(2, 2))).succeedsWithin(WAIT);
    assertThat(n3.receivedTerms()).containsExactly(1L, 2L);
  }

  @Test
  void shouldHealOneDirectionThenEverything() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);
    network.cutBoth(1, 2);
    network.isolate(3);

    network.heal(1, 2);

    // The request now gets through, but its response still may not.
    assertThat(n1.transport.send(2, "node2", vote(1, 1))).failsWithin(WAIT);
    assertThat(n2.received).hasSize(1);
    assertThat(network.isCut(2, 1)).isTrue();

    network.heal();

    assertThat(n1.transport.send(2, "node2", vote(2, 1))).succeedsWithin(WAIT);
    assertThat(n2.transport.send(1, "node1", vote(2, 2))).succeedsWithin(WAIT);
    assertThat(network.isCut(1, 3)).isFalse();
  }

  @Test
  void shouldKeepOrderOnDelayedLink() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);
    network.delay(1, 2, Duration.ofMillis(5));
    network.delay(2, 1, Duration.ofMillis(3));

    final List<CompletableFuture<RaftResponse>> responses = new ArrayList<>();
    for (long term = 1; term <= 100; term++) {
      responses.add(n1.transport.send(2, "node2", vote(term, 1)));
    }

    for (int i = 0; i < responses.size(); i++) {
      assertThat(responses.get(i)).succeedsWithin(WAIT).extracting(RaftResponse::term).isEqualTo(i + 1L);
    }
    final List<Long> expected = new ArrayList<>();
    for (long term = 1; term <= 100; term++) {
      expected.add(term);
    }
    assertThat(n2.receivedTerms()).containsExactlyElementsOf(expected);
  }

  @Test
  void shouldHoldDelayedRequestWhileUndelayedOnesPass() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);
    final Node n3 = echoNode(3);
    network.delay(1, 2, Duration.ofHours(1));

    final CompletableFuture<RaftResponse> delayed = n1.transport.send(2, "node2", vote(1, 1));
    final CompletableFuture<RaftResponse> direct = n3.transport.send(2, "node2", vote(2, 3));

    assertThat(direct).succeedsWithin(WAIT);
    assertThat(n2.receivedTerms()).containsExactly(2L);
    assertThat(delayed).isNotDone();

    n1.transport.close();

    assertThat(delayed)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(ShutdownException.class);
  }

  @Test
  void shouldDropDelayedRequestWhenLinkIsCutWhileInTheAir() throws Exception {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final Node n2 = new Node();
    n2.transport =
        provider.create(
            context(
                2,
                "c1",
                (from, request) -> {
                  n2.received.add(new Received(from, request));
                  if (request.term() == 99) {
                    // Hold the network's one scheduler thread, so the next delayed message waits.
                    entered.countDown();
                    awaitLatch(release);
                  }
                  return CompletableFuture.completedFuture(new VoteResponse(request.term(), true, false));
                },
                RPC_TIMEOUT));
    final Node n1 = echoNode(1);
    final Node n3 = echoNode(3);
    network.delay(3, 2, Duration.ofMillis(1));
    network.delay(1, 2, Duration.ofMillis(1));

    final CompletableFuture<RaftResponse> blocker = n3.transport.send(2, "node2", vote(99, 3));
    assertThat(entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    final CompletableFuture<RaftResponse> inTheAir = n1.transport.send(2, "node2", vote(5, 1));
    network.cut(1, 2);
    release.countDown();

    assertThat(blocker).succeedsWithin(WAIT);
    assertThat(inTheAir)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("in the air");
    assertThat(n2.receivedTerms()).containsExactly(99L);
  }

  @Test
  void shouldFailWhenNoNodeIsBoundAtTargetAddress() throws IOException {
    final Node n1 = echoNode(1);

    assertThat(n1.transport.send(9, "node9", vote(1, 1)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("address=node9")
        .withMessageContaining("network=" + network.name());
  }

  @Test
  void shouldRefusePeerOfAnotherCluster() throws IOException {
    final Node n1 = echoNode(1, "alpha");
    final Node n2 = echoNode(2, "beta");

    assertThat(n1.transport.send(2, "node2", vote(1, 1)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("clusterId=beta")
        .withMessageContaining("clusterId=alpha");
    assertThat(n2.received).isEmpty();
  }

  @Test
  void shouldRefuseWhenAddressBelongsToAnotherNodeId() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = echoNode(2);

    assertThat(n1.transport.send(3, "node2", vote(1, 1)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("targetId=3");
    assertThat(n2.received).isEmpty();
  }

  @Test
  void shouldFailPendingRequestsWithShutdownOnCloseAndUnbind() throws IOException {
    final Node n1 = echoNode(1);
    final Node n2 = scriptedNode(2, RPC_TIMEOUT, List.of(new CompletableFuture<>()));
    final CompletableFuture<RaftResponse> pending = n1.transport.send(2, "node2", vote(1, 1));
    assertThat(n2.received).hasSize(1);
    assertThat(pending).isNotDone();

    n1.transport.close();
    n1.transport.close();

    assertThat(pending)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(ShutdownException.class)
        .withMessageContaining("nodeId=1");
    assertThat(n1.transport.send(2, "node2", vote(2, 1)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(ShutdownException.class);
    assertThat(network.addresses()).containsExactly("node2");
    assertThat(n2.transport.send(1, "node1", vote(2, 2)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class);
  }

  @Test
  void shouldTimeOutWhenNoResponseComesWithinRpcTimeout() throws IOException {
    final Node n1 = scriptedNode(1, Duration.ofMillis(50), List.of());
    scriptedNode(2, RPC_TIMEOUT, List.of(new CompletableFuture<>()));

    assertThat(n1.transport.send(2, "node2", vote(1, 1)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("rpcTimeout=50ms");
  }

  @Test
  void shouldReportHandlerFailureAsUnreachable() throws IOException {
    final Node n1 = echoNode(1);
    scriptedNode(2, RPC_TIMEOUT, List.of(CompletableFuture.failedFuture(new ShutdownException("node 2 stopping"))));

    assertThat(n1.transport.send(2, "node2", vote(1, 1)))
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(UnreachableException.class)
        .withMessageContaining("node 2 stopping");
  }

  @Test
  void shouldNeverThrowFromSend() throws IOException {
    final Node n1 = echoNode(1);

    assertThat(n1.transport.send(2, null, vote(1, 1))).isCompletedExceptionally();
    assertThat(n1.transport.send(2, "node2", null)).isCompletedExceptionally();
  }

  @Test
  void shouldRefuseSecondTransportAtSameAddress() throws IOException {
    echoNode(1);

    assertThatThrownBy(() -> provider.create(context(1, "c1", (f, r) -> new CompletableFuture<>(), RPC_TIMEOUT)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("address=node1")
        .hasMessageContaining("already bound");
  }

  @Test
  void shouldRefuseCreationWithoutOrWithUnknownNetwork() {
    final RequestHandler handler = (f, r) -> new CompletableFuture<>();

    assertThatThrownBy(() -> provider.create(new TransportContext(1, "c1", "node1", handler, RPC_TIMEOUT, Map.of())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(LocalNetwork.NETWORK_OPTION)
        .hasMessageContaining("not set");
    assertThatThrownBy(
            () ->
                provider.create(
                    new TransportContext(
                        1, "c1", "node1", handler, RPC_TIMEOUT, Map.of(LocalNetwork.NETWORK_OPTION, "no-such-net"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("no-such-net")
        .hasMessageContaining(network.name());
    assertThatThrownBy(
            () ->
                provider.create(
                    new TransportContext(
                        1, "c1", " ", handler, RPC_TIMEOUT, Map.of(LocalNetwork.NETWORK_OPTION, network.name()))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("bindAddress");
  }

  @Test
  void shouldCloseTransportsAndForgetNameWhenNetworkCloses() throws IOException {
    final Node n1 = echoNode(1);
    scriptedNode(2, RPC_TIMEOUT, List.of(new CompletableFuture<>()));
    final CompletableFuture<RaftResponse> pending = n1.transport.send(2, "node2", vote(1, 1));
    final String name = network.name();

    network.close();

    assertThat(pending)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(ShutdownException.class);
    assertThat(Network.lookup(name)).isEmpty();
    assertThat(n1.transport.send(2, "node2", vote(2, 1))).isCompletedExceptionally();
  }

  @Test
  void shouldGiveEveryNetworkItsOwnName() {
    try (LocalNetwork other = LocalNetwork.create()) {
      assertThat(other.name()).isNotEqualTo(network.name());
      assertThat(Network.names()).contains(other.name(), network.name());
    }
  }

  private static void awaitLatch(final CountDownLatch latch) {
    try {
      if (!latch.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("latch not released within " + WAIT);
      }
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
