package io.raftkit.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFormatException;
import io.raftkit.wire.WireFrame;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of the link to one peer: at most one connection, made on demand, carrying every
 * request to that peer; responses are matched by correlation id.
 *
 * <p><b>States.</b> {@code IDLE} (no connection; the next send connects), {@code CONNECTING}
 * (connecting or handshaking; sends queue up in the connection's {@link FrameWriter}), {@code
 * READY}, {@code BACKOFF} (a connection attempt failed or was refused; sends fail at once until
 * the backoff ends, then the next send connects again; the backoff doubles from {@code
 * netty.reconnectBackoffMinMs} up to {@code netty.reconnectBackoffMaxMs} and resets on success),
 * {@code CLOSED}. A ready connection that drops goes back to {@code IDLE}: its peer probably
 * restarted, so the next send reconnects at once.
 *
 * <p>Thread-safe: state changes hold the monitor; the maps are concurrent.
 */
final class PeerConnection {

  private static final Logger LOG = LoggerFactory.getLogger(PeerConnection.class);

  private enum State {
    IDLE,
    CONNECTING,
    READY,
    BACKOFF,
    CLOSED
  }

  private final NettyTransport transport;
  private final long targetId;
  private final String address;
  private final HostPort hostPort;
  private final ConcurrentHashMap<Long, Pending> inFlight = new ConcurrentHashMap<>();
  /** In send order, which is deadline order (one rpcTimeout for all): expiry pops the head. */
  private final ConcurrentLinkedQueue<Pending> byDeadline = new ConcurrentLinkedQueue<>();

  // Guarded by this.
  private State state = State.IDLE;
  private Channel channel;
  private FrameWriter writer;
  private long backoffNanos;
  private long retryAtNanos;
  private String lastFailure = "";

  PeerConnection(final NettyTransport transport, final long targetId, final String address, final HostPort hostPort) {
    this.transport = transport;
    this.targetId = targetId;
    this.address = address;
    this.hostPort = hostPort;
  }

  /** Sends a request; every outcome ends in {@code future}. Never throws. */
  void send(final long correlationId, final RaftRequest request, final CompletableFuture<RaftResponse> future) {
    final FrameWriter w;
    synchronized (this) {
      switch (state) {
        case CLOSED -> {
          future.completeExceptionally(transport.shutdown(request));
          return;
        }
        case BACKOFF -> {
          final long waitNanos = retryAtNanos - System.nanoTime();
          if (waitNanos > 0) {
            future.completeExceptionally(
                new UnreachableException(
                    "targetId=" + targetId + " at address=" + address + " is unreachable; reconnecting in "
                        + TimeUnit.NANOSECONDS.toMillis(waitNanos) + "ms after failure: " + lastFailure));
            return;
          }
          connect();
        }
        case IDLE -> connect();
        case CONNECTING -> {}
        case READY -> {
          if (!channel.isWritable()) {
            future.completeExceptionally(
                new UnreachableException(
                    "back-pressure: connection to targetId=" + targetId + " at address=" + address
                        + " is not writable, bytesBeforeWritable=" + channel.bytesBeforeWritable()
                        + "; request=" + request + " not sent"));
            return;
          }
        }
      }
      w = writer;
    }
    if (w == null) {
      // connect() failed synchronously and already moved to BACKOFF.
      future.completeExceptionally(
          new UnreachableException(
              "cannot connect to targetId=" + targetId + " at address=" + address + ": " + lastFailureSafe()));
      return;
    }
    final Pending p =
        new Pending(correlationId, request, future, System.nanoTime() + transport.rpcTimeoutNanos(), w);
    inFlight.put(correlationId, p);
    byDeadline.add(p);
    if (!w.offer(new FrameWriter.Outgoing(new WireFrame.Request(correlationId, request), p))) {
      inFlight.remove(correlationId, p);
      if (w.isClosed()) {
        // The connection attempt failed between choosing it and queueing on it.
        future.completeExceptionally(
            new UnreachableException(
                "targetId=" + targetId + " at address=" + address + " is unreachable: " + lastFailureSafe()
                    + "; request=" + request + " not sent"));
        return;
      }
      future.completeExceptionally(
          new UnreachableException(
              "back-pressure: queued frames=" + w.queued() + " bytes=" + w.queuedBytes() + " for targetId="
                  + targetId + " at address=" + address + " (maxQueuedPerPeer="
                  + transport.options().maxQueuedPerPeer() + ", writeBufferHighWaterMark="
                  + transport.options().writeBufferHighWaterMark() + ") or connection lost; request=" + request
                  + " not sent"));
    }
  }

  private synchronized FrameWriter writerOf(final Channel ch) {
    return ch == channel ? writer : null;
  }

  private synchronized boolean isConnecting(final Channel ch) {
    return ch == channel && state == State.CONNECTING;
  }

  private synchronized String lastFailureSafe() {
    return lastFailure;
  }

  /** Starts a connection attempt. Holds the monitor. */
  private void connect() {
    state = State.CONNECTING;
    final FrameWriter w =
        new FrameWriter(
            transport.options().maxQueuedPerPeer(),
            transport.options().writeBufferHighWaterMark(),
            transport.options().maxFrameBytes(),
            (o, e) -> fail(o.pending(), new UnreachableException(e.getMessage() + "; targetId=" + targetId, e)));
    writer = w;
    final ChannelFuture connected;
    try {
      connected =
          transport
              .clientBootstrap(new ClientHandler(), hostPort)
              .connect(InetSocketAddress.createUnresolved(hostPort.host(), hostPort.port()));
    } catch (final RuntimeException e) {
      writer = null;
      enterBackoff("connect to address=" + address + " failed: " + e);
      return;
    }
    channel = connected.channel();
    final Channel ch = channel;
    connected.addListener(
        f -> {
          if (!f.isSuccess()) {
            onFailure(ch, "connect to targetId=" + targetId + " at address=" + address + " failed: " + f.cause());
          }
        });
    final long handshakeMillis =
        transport.options().connectTimeout().toMillis() + transport.options().handshakeTimeout().toMillis();
    ch.eventLoop()
        .schedule(
            () -> {
              if (isConnecting(ch)) {
                onFailure(ch, "no handshake with targetId=" + targetId + " at address=" + address + " within "
                    + handshakeMillis + "ms");
              }
            },
            handshakeMillis,
            TimeUnit.MILLISECONDS);
  }

  /** Holds the monitor. */
  private void enterBackoff(final String failure) {
    final long min = transport.options().backoffMin().toNanos();
    final long max = transport.options().backoffMax().toNanos();
    backoffNanos = backoffNanos == 0 ? min : Math.min(max, backoffNanos * 2);
    retryAtNanos = System.nanoTime() + backoffNanos;
    lastFailure = failure;
    state = State.BACKOFF;
    channel = null;
  }

  private void onReady(final Channel ch) {
    final FrameWriter w;
    synchronized (this) {
      if (ch != channel || state != State.CONNECTING) {
        return;
      }
      state = State.READY;
      backoffNanos = 0;
      w = writer;
    }
    LOG.debug("nodeId={} connected to targetId={} at address={}", transport.nodeId(), targetId, address);
    w.start(ch);
  }

  /**
   * The connection {@code ch} failed or closed: fails its requests. A no-op for a stale channel
   * or a second report of the same failure.
   *
   * @return whether it was the current connection
   */
  private boolean onFailure(final Channel ch, final String failure) {
    final FrameWriter w;
    synchronized (this) {
      if (ch != channel || state == State.CLOSED) {
        return false;
      }
      w = writer;
      writer = null;
      if (state == State.READY) {
        state = State.IDLE; // it worked before: reconnect at the next send
        channel = null;
        lastFailure = failure;
      } else {
        enterBackoff(failure);
      }
    }
    ch.close();
    w.close();
    final UnreachableException error =
        new UnreachableException(failure + " (nodeId=" + transport.nodeId() + ")");
    for (final Pending p : inFlight.values()) {
      if (p.writer() == w) {
        fail(p, error);
      }
    }
    return true;
  }

  /** Closes the connection and fails every pending request with {@link ShutdownException}. */
  void close() {
    final Channel ch;
    final FrameWriter w;
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      state = State.CLOSED;
      ch = channel;
      w = writer;
      channel = null;
      writer = null;
    }
    if (w != null) {
      w.close();
    }
    if (ch != null) {
      ch.close();
    }
    for (final Pending p : inFlight.values()) {
      fail(p, transport.shutdown(p.request()));
    }
  }

  /** Fails the requests whose RPC timeout has passed. Called periodically on an event loop. */
  void expire(final long nowNanos) {
    Pending p;
    while ((p = byDeadline.peek()) != null) {
      if (p.isDone()) {
        byDeadline.poll();
      } else if (nowNanos - p.deadlineNanos() >= 0) {
        byDeadline.poll();
        fail(
            p,
            new UnreachableException(
                "no response from targetId=" + targetId + " at address=" + address + " within rpcTimeout="
                    + TimeUnit.NANOSECONDS.toMillis(transport.rpcTimeoutNanos()) + "ms to request=" + p.request()));
      } else {
        return;
      }
    }
  }

  /** How many requests wait for a response (including queued ones). */
  int inFlight() {
    return inFlight.size();
  }

  private void fail(final Pending p, final RuntimeException error) {
    if (p == null) {
      return;
    }
    inFlight.remove(p.correlationId(), p);
    p.future().completeExceptionally(error);
  }

  private void complete(final long correlationId, final RaftResponse response) {
    final Pending p = inFlight.remove(correlationId);
    if (p == null) {
      LOG.debug("late response correlationId={} from targetId={} dropped", correlationId, targetId);
      return;
    }
    p.future().complete(response);
  }

  private void failOne(final long correlationId, final String message) {
    final Pending p = inFlight.remove(correlationId);
    if (p != null) {
      p.future()
          .completeExceptionally(
              new UnreachableException(
                  "targetId=" + targetId + " at address=" + address + " did not answer request=" + p.request() + ": "
                      + message));
    }
  }

  @Override
  public String toString() {
    return "PeerConnection{targetId=" + targetId + ", address=" + address + ", inFlight=" + inFlight.size() + "}";
  }

  /** The pipeline's last handler on this peer's connection: the handshake, then responses. */
  private final class ClientHandler extends ChannelInboundHandlerAdapter {
    private boolean ready;

    @Override
    public void channelActive(final ChannelHandlerContext ctx) {
      final WireFrame.Hello hello =
          new WireFrame.Hello(WireCodec.PROTOCOL_VERSION, transport.clusterId(), transport.nodeId(), 0, targetId);
      ctx.writeAndFlush(Frames.encode(ctx.alloc(), hello, transport.options().maxFrameBytes()), ctx.voidPromise());
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(final ChannelHandlerContext ctx, final Object msg) {
      final WireFrame frame;
      final ByteBuf buf = (ByteBuf) msg;
      try {
        frame = Frames.decode(buf);
      } catch (final WireFormatException e) {
        LOG.warn("nodeId={}: malformed frame from targetId={} at address={}; closing: {}",
            transport.nodeId(), targetId, address, e.getMessage());
        onFailure(ctx.channel(), "malformed frame from targetId=" + targetId + ": " + e.getMessage());
        return;
      } finally {
        buf.release();
      }
      if (!ready) {
        handshake(ctx, frame);
        return;
      }
      switch (frame.kind()) {
        case RESPONSE -> complete(frame.correlationId(), ((WireFrame.Response) frame).response());
        case FAILURE -> failOne(frame.correlationId(), ((WireFrame.Failure) frame).message());
        case UNSUPPORTED -> failOne(frame.correlationId(), "peer answered with a frame this node does not support");
        case HELLO, HELLO_REPLY, REQUEST -> {
          LOG.warn("nodeId={}: unexpected {} frame from targetId={} at address={}; closing",
              transport.nodeId(), frame.kind(), targetId, address);
          onFailure(ctx.channel(), "protocol error: unexpected " + frame.kind() + " frame from targetId=" + targetId);
        }
      }
    }

    private void handshake(final ChannelHandlerContext ctx, final WireFrame frame) {
      if (frame.kind() != WireFrame.Kind.HELLO_REPLY) {
        onFailure(ctx.channel(), "protocol error: expected HELLO_REPLY from targetId=" + targetId + " at address="
            + address + " but got " + frame.kind());
        return;
      }
      final WireFrame.HelloReply reply = (WireFrame.HelloReply) frame;
      final String problem;
      if (!reply.accepted()) {
        problem = "refused by peer: " + reply.reason();
      } else if (reply.protocolVersion() != WireCodec.PROTOCOL_VERSION) {
        problem = "peer protocolVersion=" + reply.protocolVersion() + " but this node speaks protocolVersion="
            + WireCodec.PROTOCOL_VERSION;
      } else if (!reply.clusterId().equals(transport.clusterId())) {
        problem = "peer clusterId=" + reply.clusterId() + " but this node's clusterId=" + transport.clusterId();
      } else if (reply.nodeId() != targetId) {
        problem = "address=" + address + " is nodeId=" + reply.nodeId() + ", not targetId=" + targetId;
      } else {
        problem = null;
      }
      if (problem != null) {
        LOG.warn("nodeId={}: handshake with targetId={} at address={} failed: {}",
            transport.nodeId(), targetId, address, problem);
        onFailure(ctx.channel(), "handshake with targetId=" + targetId + " at address=" + address + " failed: "
            + problem);
        return;
      }
      ready = true;
      onReady(ctx.channel());
    }

    @Override
    public void userEventTriggered(final ChannelHandlerContext ctx, final Object evt) {
      if (evt instanceof SslHandshakeCompletionEvent tls && !tls.isSuccess()) {
        // Said before the channel closes, so that the requests fail naming the TLS problem
        // (untrusted, expired or missing certificate, wrong host name, plain-text peer).
        final String problem = "TLS handshake with targetId=" + targetId + " at address=" + address + " failed: "
            + tls.cause();
        LOG.warn("nodeId={}: {}", transport.nodeId(), problem);
        onFailure(ctx.channel(), problem);
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(final ChannelHandlerContext ctx) {
      onFailure(ctx.channel(), "connection to targetId=" + targetId + " at address=" + address + " closed");
      ctx.fireChannelInactive();
    }

    @Override
    public void channelWritabilityChanged(final ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        final FrameWriter w = writerOf(ctx.channel());
        if (w != null) {
          w.resume();
        }
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
      transport.logChannelError(ctx.channel(), "targetId=" + targetId, cause);
      onFailure(ctx.channel(), "connection to targetId=" + targetId + " at address=" + address + " failed: " + cause);
    }
  }
}
