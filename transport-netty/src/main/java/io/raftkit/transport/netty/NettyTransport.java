package io.raftkit.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's netty transport: one listening channel, one {@link PeerConnection} per peer, one event
 * loop group for both, and a periodic task that fails requests past their RPC timeout.
 *
 * <p>Thread-safe; {@link #send} never blocks and never throws.
 */
final class NettyTransport implements Transport {

  private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

  /** How long {@link #close()} waits for the event loops to stop. */
  private static final long CLOSE_WAIT_MILLIS = 5_000;

  /** At most one bad-input warning per interval, so a flood of garbage cannot flood the log. */
  private static final long BAD_INPUT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final TransportContext context;
  private final NettyOptions options;
  private final SslContext serverSsl;
  private final SslContext clientSsl;
  private final boolean epoll;
  private final EventLoopGroup group;
  private final Bootstrap clientBootstrap;
  private final ConcurrentMap<PeerKey, PeerConnection> peers = new ConcurrentHashMap<>();
  private final Set<Channel> accepted = ConcurrentHashMap.newKeySet();
  private final AtomicLong correlationIds = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final long rpcTimeoutNanos;
  private final Channel serverChannel;
  private final String localAddress;
  private final Future<?> expiry;
  private final AtomicLong lastBadInputLogNanos = new AtomicLong(System.nanoTime() - BAD_INPUT_LOG_INTERVAL_NANOS);
  private final AtomicLong suppressedBadInputLogs = new AtomicLong();

  private record PeerKey(long targetId, String address) {}

  NettyTransport(final TransportContext context, final NettyOptions options, final SslContext serverSsl,
      final SslContext clientSsl) throws IOException {
    this.context = context;
    this.options = options;
    this.serverSsl = serverSsl;
    this.clientSsl = clientSsl;
    this.rpcTimeoutNanos = context.rpcTimeout().toNanos();
    final HostPort bind;
    try {
      bind = HostPort.parse(context.bindAddress());
    } catch (final IllegalArgumentException e) {
      throw new IOException("cannot bind nodeId=" + context.nodeId() + ": " + e.getMessage(), e);
    }
    this.epoll = useEpoll(options.channelType());
    final IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.group =
        new MultiThreadIoEventLoopGroup(
            options.ioThreads(), new DefaultThreadFactory("raftkit-netty-" + context.nodeId(), true), io);
    final WriteBufferWaterMark waterMark =
        new WriteBufferWaterMark(options.writeBufferLowWaterMark(), options.writeBufferHighWaterMark());
    this.clientBootstrap =
        new Bootstrap()
            .group(group)
            .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_KEEPALIVE, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark);
    final Class<? extends ServerChannel> serverClass =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    final ServerBootstrap server =
        new ServerBootstrap()
            .group(group)
            .channel(serverClass)
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.SO_BACKLOG, 128)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.SO_KEEPALIVE, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(final SocketChannel ch) {
                    if (closed.get()) {
                      ch.close();
                      return;
                    }
                    accepted.add(ch);
                    ch.closeFuture().addListener(f -> accepted.remove(ch));
                    final ChannelPipeline p = ch.pipeline();
                    if (serverSsl != null) {
                      p.addLast("tls", serverSsl.newHandler(ch.alloc()));
                    }
                    p.addLast("frames", frameDecoder());
                    p.addLast("serve", new ServerConnection(NettyTransport.this));
                  }
                });
    Channel bound = null;
    try {
      bound = server.bind(new InetSocketAddress(bind.host(), bind.port())).syncUninterruptibly().channel();
    } catch (final Exception e) { // syncUninterruptibly rethrows the bind's IOException unchecked
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw new IOException(
          "nodeId=" + context.nodeId() + " cannot bind address=" + context.bindAddress() + ": " + e, e);
    }
    this.serverChannel = bound;
    this.localAddress = bind.format(((InetSocketAddress) bound.localAddress()).getPort());
    final long tickNanos =
        Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.min(TimeUnit.MILLISECONDS.toNanos(50), rpcTimeoutNanos / 4));
    this.expiry = group.next().scheduleAtFixedRate(this::expire, tickNanos, tickNanos, TimeUnit.NANOSECONDS);
    LOG.info("nodeId={} listening at address={} with channelType={} tls={} options={}",
        context.nodeId(), localAddress, epoll ? "epoll" : "nio", serverSsl != null, options);
  }

  private static boolean useEpoll(final String type) throws IOException {
    switch (type) {
      case "nio":
        return false;
      case "epoll":
        if (!Epoll.isAvailable()) {
          throw new IOException(
              NettyOptions.CHANNEL_TYPE + "=epoll but epoll is unavailable: " + Epoll.unavailabilityCause());
        }
        return true;
      default:
        return Epoll.isAvailable();
    }
  }

  LengthFieldBasedFrameDecoder frameDecoder() {
    // failFast: an oversize length is refused as soon as it is read, before any body is buffered.
    return new LengthFieldBasedFrameDecoder(
        options.maxFrameBytes() + Frames.HEADER_BYTES, 0, Frames.HEADER_BYTES, 0, Frames.HEADER_BYTES, true);
  }

  /** A bootstrap whose channels end in {@code handler}: for one connection attempt to a peer. */
  Bootstrap clientBootstrap(final ChannelHandler handler, final HostPort peer) {
    return clientBootstrap
        .clone()
        .handler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(final SocketChannel ch) {
                final ChannelPipeline p = ch.pipeline();
                if (clientSsl != null) {
                  p.addLast("tls", clientSsl.newHandler(ch.alloc(), peer.host(), peer.port()));
                }
                p.addLast("frames", frameDecoder());
                p.addLast("client", handler);
              }
            });
  }

  /** {@inheritDoc} */
  @Override
  public String localAddress() {
    return localAddress;
  }

  /**
   * {@inheritDoc}
   *
   * <p>The future fails with {@link UnreachableException} if the address is not {@code host:port},
   * the peer cannot be reached or refuses the handshake, the connection is in reconnect backoff or
   * back-pressured, the peer's handler fails, or no response comes within the RPC timeout; with
   * {@link ShutdownException} if this transport is or gets closed first.
   */
  @Override
  public CompletableFuture<RaftResponse> send(
      final long targetId, final String targetAddress, final RaftRequest request) {
    final CompletableFuture<RaftResponse> result = new CompletableFuture<>();
    try {
      if (request == null || targetAddress == null) {
        result.completeExceptionally(
            new UnreachableException(
                "nodeId=" + context.nodeId() + " cannot send request=" + request + " to address=" + targetAddress));
        return result;
      }
      if (closed.get()) {
        result.completeExceptionally(shutdown(request));
        return result;
      }
      final PeerConnection peer = peer(targetId, targetAddress);
      peer.send(correlationIds.incrementAndGet(), request, result);
      if (closed.get()) {
        // close() may have run while the peer was being created.
        peer.close();
      }
    } catch (final IllegalArgumentException e) {
      result.completeExceptionally(
          new UnreachableException("cannot send to targetId=" + targetId + ": " + e.getMessage(), e));
    } catch (final RuntimeException e) {
      result.completeExceptionally(
          new UnreachableException("sending request=" + request + " to targetId=" + targetId + " failed: " + e, e));
    }
    return result;
  }

  private PeerConnection peer(final long targetId, final String address) {
    final PeerKey key = new PeerKey(targetId, address);
    final PeerConnection existing = peers.get(key);
    if (existing != null) {
      return existing;
    }
    final HostPort hostPort = HostPort.parse(address);
    if (hostPort.port() == 0) {
      throw new IllegalArgumentException("address=" + address + " has port 0, which no peer listens on");
    }
    return peers.computeIfAbsent(key, k -> new PeerConnection(this, targetId, address, hostPort));
  }

  /**
   * Stops listening, closes every connection, fails every pending request with {@link
   * ShutdownException} and stops the event loops (waiting for them unless called on one).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    expiry.cancel(false);
    serverChannel.close();
    for (final PeerConnection peer : peers.values()) {
      peer.close();
    }
    for (final Channel ch : accepted) {
      ch.close();
    }
    final Future<?> terminated = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    boolean onEventLoop = false;
    for (final EventExecutor e : group) {
      onEventLoop |= e.inEventLoop();
    }
    if (!onEventLoop && !terminated.awaitUninterruptibly(CLOSE_WAIT_MILLIS)) {
      LOG.warn("nodeId={}: event loops did not stop within {}ms", context.nodeId(), CLOSE_WAIT_MILLIS);
    }
    LOG.info("nodeId={} at address={} closed", context.nodeId(), localAddress);
  }

  private void expire() {
    final long now = System.nanoTime();
    for (final PeerConnection peer : peers.values()) {
      peer.expire(now);
    }
  }

  // ------------------------------------------------------------- used by the connection classes

  long nodeId() {
    return context.nodeId();
  }

  String clusterId() {
    return context.clusterId();
  }

  RequestHandler handler() {
    return context.handler();
  }

  NettyOptions options() {
    return options;
  }

  long rpcTimeoutNanos() {
    return rpcTimeoutNanos;
  }

  ShutdownException shutdown(final RaftRequest request) {
    return new ShutdownException(
        "transport of nodeId=" + context.nodeId() + " at address=" + localAddress + " is closed; request=" + request
            + " not answered");
  }

  /**
   * Logs bad input from a peer (malformed or unexpected frame, refused hello) at warn level, at
   * most once per second; the next message says how many were suppressed meanwhile.
   */
  void logBadInput(final Logger log, final String format, final Object... args) {
    final long now = System.nanoTime();
    final long last = lastBadInputLogNanos.get();
    if (now - last < BAD_INPUT_LOG_INTERVAL_NANOS || !lastBadInputLogNanos.compareAndSet(last, now)) {
      suppressedBadInputLogs.incrementAndGet();
      return;
    }
    final long suppressed = suppressedBadInputLogs.getAndSet(0);
    if (log.isWarnEnabled()) {
      log.warn(
          org.slf4j.helpers.MessageFormatter.arrayFormat(format, args).getMessage()
              + (suppressed > 0 ? " (" + suppressed + " similar messages suppressed in the last second)" : ""));
    }
  }

  /** Logs an error on a channel: an oversize frame at error level, the rest (peer gone) at debug. */
  void logChannelError(final Channel ch, final String peer, final Throwable cause) {
    if (cause instanceof TooLongFrameException) {
      if (LOG.isErrorEnabled()) {
        // Rate-limited like other bad input, but at error level: the sender is misconfigured or hostile.
        final long now = System.nanoTime();
        final long last = lastBadInputLogNanos.get();
        if (now - last >= BAD_INPUT_LOG_INTERVAL_NANOS && lastBadInputLogNanos.compareAndSet(last, now)) {
          LOG.error("nodeId={}: closing connection {} remote={}: frame above maxFrameBytes={} ({}): {} ({} similar"
                  + " messages suppressed in the last second)",
              context.nodeId(), peer, ch.remoteAddress(), options.maxFrameBytes(), NettyOptions.MAX_FRAME_BYTES,
              cause.getMessage(), suppressedBadInputLogs.getAndSet(0));
        } else {
          suppressedBadInputLogs.incrementAndGet();
        }
      }
    } else if (cause instanceof DecoderException && cause.getCause() instanceof SSLException) {
      // Rate-limited: anyone who can connect can make a TLS handshake fail.
      logBadInput(LOG, "nodeId={}: TLS failed on connection {} remote={}: {}", context.nodeId(), peer,
          ch.remoteAddress(), cause.getCause().toString());
    } else if (cause instanceof DecoderException) {
      logBadInput(LOG, "nodeId={}: closing connection {} remote={}: undecodable input: {}", context.nodeId(), peer,
          ch.remoteAddress(), cause.toString());
    } else if (cause instanceof IOException) {
      LOG.debug("nodeId={}: connection {} remote={} failed: {}", context.nodeId(), peer, ch.remoteAddress(),
          cause.toString());
    } else {
      LOG.warn("nodeId={}: closing connection {} remote={} after error", context.nodeId(), peer, ch.remoteAddress(),
          cause);
    }
  }

  /** Whether the event loops use epoll (rather than NIO). */
  boolean usesEpoll() {
    return epoll;
  }

  @Override
  public String toString() {
    return "NettyTransport{nodeId=" + context.nodeId() + ", address=" + localAddress + ", peers=" + peers.size()
        + ", epoll=" + epoll + ", tls=" + (serverSsl != null) + "}";
  }
}
