package io.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.epoll.Epoll;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.error.ConfigException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFrame;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Netty-specific behaviour beyond the TCK: handshake, framing limits, back-pressure, backoff. */
class NettyTransportTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration RPC_TIMEOUT = Duration.ofSeconds(60);

  private final List<Transport> transports = new ArrayList<>();
  private final ConcurrentLinkedQueue<RaftRequest> received = new ConcurrentLinkedQueue<>();

  @AfterEach
  void closeAll() {
    transports.forEach(Transport::close);
  }

  private Transport start(final long id, final Map<String, String> options) throws IOException {
    return start(id, options, (from, r) -> {
      received.add(r);
      return CompletableFuture.completedFuture(
          r.kind() == RaftRequest.Kind.VOTE
              ? new VoteResponse(r.term(), true, false)
              : AppendResponse.success(r.term(), ((AppendRequest) r).lastLogId().index()));
    });
  }

  private Transport start(final long id, final Map<String, String> options, final RequestHandler handler)
      throws IOException {
    final Transport t =
        new NettyTransportProvider()
            .create(new TransportContext(id, "c1", "127.0.0.1:0", handler, RPC_TIMEOUT, options));
    transports.add(t);
    return t;
  }

  private static VoteRequest vote(final long term) {
    return new VoteRequest(term, 1, LogId.ZERO, false);
  }

  private static AppendRequest append(final long term, final int payloadBytes) {
    return new AppendRequest(term, 1, LogId.ZERO, List.of(Entry.normal(LogId.of(term, 1), new byte[payloadBytes])), 0);
  }

  private static Throwable failureOf(final CompletableFuture<?> f) throws Exception {
    try {
      f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected a failure, got " + f.join());
    } catch (final ExecutionException e) {
      return e.getCause();
    }
  }

  @Test
  void shouldUseEpollWhenAvailableAndTalkToNioPeer() throws Exception {
    final NettyTransport auto = (NettyTransport) start(1, Map.of());
    final NettyTransport nio = (NettyTransport) start(2, Map.of(NettyOptions.CHANNEL_TYPE, "nio"));

    assertThat(auto.usesEpoll()).isEqualTo(Epoll.isAvailable());
    assertThat(nio.usesEpoll()).isFalse();
    assertThat(auto.send(2, nio.localAddress(), vote(3))).succeedsWithin(WAIT).isEqualTo(new VoteResponse(3, true, false));
    assertThat(nio.send(1, auto.localAddress(), vote(4))).succeedsWithin(WAIT).isEqualTo(new VoteResponse(4, true, false));
  }

  @Test
  void shouldReportEphemeralPortAsLocalAddress() throws Exception {
    final Transport t = start(1, Map.of());

    assertThat(t.localAddress()).matches("127\\.0\\.0\\.1:[1-9][0-9]*");
  }

  @Test
  void shouldRefuseHelloOfAnotherProtocolVersionAndClose() throws Exception {
    final Transport t = start(2, Map.of());
    try (RawPeer peer = new RawPeer(t.localAddress())) {
      peer.send(new WireFrame.Hello(WireCodec.PROTOCOL_VERSION + 1, "c1", 7, 0, 2));

      final WireFrame.HelloReply reply = (WireFrame.HelloReply) peer.receive();

      assertThat(reply.accepted()).isFalse();
      assertThat(reply.reason()).contains("protocolVersion=" + (WireCodec.PROTOCOL_VERSION + 1));
      assertThat(peer.awaitClosed()).isTrue();
    }
    assertThat(received).isEmpty();
  }

  @Test
  void shouldRefusePeerWhoseHelloReplyNamesAnotherProtocolVersion() throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      final Transport t = start(1, Map.of());
      final CompletableFuture<RaftResponse> response = t.send(2, "127.0.0.1:" + fake.getLocalPort(), vote(1));
      try (Socket s = fake.accept()) {
        final DataInputStream in = new DataInputStream(s.getInputStream());
        in.readFully(new byte[in.readInt()]); // the hello
        final byte[] reply = WireCodec.encodeToArray(new WireFrame.HelloReply(true, 99, "c1", 2, 0, ""));
        final DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeInt(reply.length);
        out.write(reply);
        out.flush();

        assertThat(failureOf(response))
            .isInstanceOf(UnreachableException.class)
            .hasMessageContaining("protocolVersion=99");
      }
    }
  }

  @Test
  void shouldCloseConnectionOnOversizeFrameAndKeepServing() throws Exception {
    final Transport server = start(2, Map.of(NettyOptions.MAX_FRAME_BYTES, "4096"));
    try (RawPeer peer = new RawPeer(server.localAddress())) {
      assertThat(peer.hello("c1", 1, 2).accepted()).isTrue();

      peer.sendRaw(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // 2 GiB announced

      assertThat(peer.awaitClosed()).isTrue();
    }
    try (RawPeer peer = new RawPeer(server.localAddress())) {
      assertThat(peer.hello("c1", 1, 2).accepted()).isTrue();
      peer.sendBody(new byte[4097]);
      assertThat(peer.awaitClosed()).isTrue();
    }
    final Transport client = start(1, Map.of());
    assertThat(client.send(2, server.localAddress(), vote(5))).succeedsWithin(WAIT);
  }

  @Test
  void shouldCloseConnectionOnMalformedFrameOrFrameBeforeHello() throws Exception {
    final Transport server = start(2, Map.of());
    try (RawPeer peer = new RawPeer(server.localAddress())) {
      assertThat(peer.hello("c1", 1, 2).accepted()).isTrue();
      peer.sendBody(new byte[] {0x0f, 0x01, 0x02}); // wire type 7: not protobuf
      assertThat(peer.awaitClosed()).isTrue();
    }
    try (RawPeer peer = new RawPeer(server.localAddress())) {
      peer.send(new WireFrame.Request(1, vote(1))); // no hello first
      assertThat(peer.awaitClosed()).isTrue();
    }
    assertThat(received).isEmpty();
  }

  @Test
  void shouldAnswerRequestOfUnknownKindWithFailure() throws Exception {
    final Transport server = start(2, Map.of());
    try (RawPeer peer = new RawPeer(server.localAddress())) {
      assertThat(peer.hello("c1", 1, 2).accepted()).isTrue();
      // Correlation id 5 and a body in field 27: an RPC from a newer protocol.
      peer.sendBody(new byte[] {0x08, 0x05, (byte) 0xda, 0x01, 0x01, 0x00});

      final WireFrame answer = peer.receive();

      assertThat(answer).isInstanceOf(WireFrame.Failure.class);
      assertThat(answer.correlationId()).isEqualTo(5);
      assertThat(((WireFrame.Failure) answer).message()).contains("bodyNumber=27");
      // The connection still serves known requests.
      peer.send(new WireFrame.Request(6, vote(8)));
      assertThat(peer.receive()).isEqualTo(new WireFrame.Response(6, new VoteResponse(8, true, false)));
    }
  }

  @Test
  void shouldCloseSilentConnectionAfterHandshakeTimeout() throws Exception {
    final Transport server = start(2, Map.of(NettyOptions.HANDSHAKE_TIMEOUT_MS, "100"));
    try (RawPeer peer = new RawPeer(server.localAddress())) {
      assertThat(peer.awaitClosed()).isTrue();
    }
  }

  @Test
  void shouldRefuseToSendFrameAboveMaximumAndKeepTheConnection() throws Exception {
    final Transport server = start(2, Map.of());
    final Transport client = start(1, Map.of(NettyOptions.MAX_FRAME_BYTES, "4096"));

    assertThat(failureOf(client.send(2, server.localAddress(), append(1, 8192))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("maxFrameBytes=4096");
    assertThat(client.send(2, server.localAddress(), append(1, 1024))).succeedsWithin(WAIT);
  }

  @Test
  void shouldFailFastUnderBackPressureInsteadOfBufferingWithoutBound() throws Exception {
    final Map<String, String> options = new HashMap<>();
    options.put(NettyOptions.LOW_WATER_MARK, "32768");
    options.put(NettyOptions.HIGH_WATER_MARK, "65536");
    try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      final Transport client = start(1, options);
      final String address = "127.0.0.1:" + fake.getLocalPort();
      final CompletableFuture<RaftResponse> first = client.send(2, address, vote(1));
      try (Socket s = fake.accept()) {
        // Accept the hello, then never read again: the client's socket and buffers fill up.
        final DataInputStream in = new DataInputStream(s.getInputStream());
        in.readFully(new byte[in.readInt()]);
        final byte[] reply = WireCodec.encodeToArray(new WireFrame.HelloReply(true, 1, "c1", 2, 0, ""));
        final DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeInt(reply.length);
        out.write(reply);
        out.flush();
        final AppendRequest big = append(1, 256 << 10);
        Throwable refused = null;
        int accepted = 0;
        // Bounded: 4,000 x 256 KiB would be 1 GiB if the transport buffered everything.
        for (int i = 0; i < 4_000 && refused == null; i++) {
          final CompletableFuture<RaftResponse> f = client.send(2, address, big);
          if (f.isCompletedExceptionally()) {
            refused = failureOf(f);
          } else {
            accepted++;
            if (i % 16 == 15) {
              // Let the event loop write what is queued, so the socket fills.
              awaitQuietly(Duration.ofMillis(5));
            }
          }
        }

        assertThat(refused).as("accepted=%d before refusal", accepted).isInstanceOf(UnreachableException.class);
        assertThat(refused).hasMessageContaining("back-pressure");
        assertThat(first).isNotDone();
      }
    }
  }

  @Test
  void shouldFailFastDuringReconnectBackoff() throws Exception {
    final int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    final Transport client = start(1, Map.of(NettyOptions.BACKOFF_MIN_MS, "60000"));
    final String address = "127.0.0.1:" + port;

    assertThat(failureOf(client.send(2, address, vote(1))))
        .isInstanceOf(UnreachableException.class)
        .hasMessageContaining("connect to targetId=2");
    final CompletableFuture<RaftResponse> during = client.send(2, address, vote(2));

    assertThat(during).isCompletedExceptionally();
    assertThat(failureOf(during)).isInstanceOf(UnreachableException.class).hasMessageContaining("reconnecting in");
  }

  @Test
  void shouldRefuseInvalidOptionsAndBindAddresses() {
    final RequestHandler handler = (f, r) -> new CompletableFuture<>();
    final NettyTransportProvider provider = new NettyTransportProvider();

    assertThatThrownBy(
            () -> provider.create(new TransportContext(1, "c1", "127.0.0.1:0", handler, RPC_TIMEOUT,
                Map.of(NettyOptions.MAX_FRAME_BYTES, "lots"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("netty.maxFrameBytes=lots");
    assertThatThrownBy(
            () -> provider.create(new TransportContext(1, "c1", "127.0.0.1:0", handler, RPC_TIMEOUT,
                Map.of(NettyOptions.CHANNEL_TYPE, "kqueue"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("netty.channelType=kqueue");
    assertThatThrownBy(
            () -> provider.create(new TransportContext(1, "c1", "127.0.0.1:0", handler, RPC_TIMEOUT,
                Map.of(NettyOptions.KEY_STORE, "/nonexistent.p12"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(NettyOptions.TRUST_STORE);
    assertThatThrownBy(
            () -> provider.create(new TransportContext(1, "c1", "no-port", handler, RPC_TIMEOUT, Map.of())))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("address=no-port");
  }

  private static void awaitQuietly(final Duration pause) {
    java.util.concurrent.locks.LockSupport.parkNanos(pause.toNanos());
  }
}
