package io.raftkit.examples.kv;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.ssl.SslContext;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 server of one node: Netty's HTTP codec, an aggregator that refuses bodies above
 * {@link #MAX_BODY_BYTES} with a JSON 413, and the {@link HttpApi}, optionally behind TLS. One NIO
 * event loop thread: request handling never blocks (writes wait on futures, not threads).
 */
final class HttpServer implements AutoCloseable {

  /** The largest request body accepted, in bytes (1 MiB). */
  static final int MAX_BODY_BYTES = 1 << 20;

  private final EventLoopGroup group;
  private final Channel channel;

  private HttpServer(final EventLoopGroup group, final Channel channel) {
    this.group = group;
    this.channel = channel;
  }

  /**
   * Binds {@code address} ({@code host:port}, port 0 for an ephemeral port) and serves {@code
   * api}.
   *
   * @throws UncheckedIOException if the address cannot be bound
   */
  static HttpServer start(final String address, final HttpApi api) {
    return start(address, api, null);
  }

  /**
   * Like {@link #start(String, HttpApi)}, over TLS if {@code tls} is not {@code null} (then a
   * client that fails the handshake, such as one without a certificate when the context requires
   * one, is disconnected before anything is read).
   */
  static HttpServer start(final String address, final HttpApi api, final SslContext tls) {
    Peer.checkHostPort(address, "http address", true);
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      final Channel channel =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(final SocketChannel ch) {
                      if (tls != null) {
                        ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
                      }
                      ch.pipeline()
                          .addLast("codec", new HttpServerCodec())
                          .addLast("aggregator", new JsonLimitAggregator(MAX_BODY_BYTES))
                          .addLast("api", api);
                    }
                  })
              .bind(new InetSocketAddress(Peer.host(address), Peer.port(address)))
              .syncUninterruptibly()
              .channel();
      return new HttpServer(group, channel);
    } catch (final Exception e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      final java.io.IOException io =
          e instanceof java.io.IOException ? (java.io.IOException) e : new BindException(e.toString());
      throw new UncheckedIOException("http address=" + address + " could not be bound: " + e.getMessage(), io);
    }
  }

  /** The bound address, {@code host:port}. */
  String localAddress() {
    final InetSocketAddress a = (InetSocketAddress) channel.localAddress();
    final String host = a.getAddress().getHostAddress();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** Stops listening, closes every connection and stops the event loop. Idempotent. */
  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /**
   * Netty's aggregator, answering an oversized request with a JSON 413 instead of an empty one.
   * Like Netty's: a keep-alive request whose body is still coming keeps its connection (the rest
   * of the body is discarded) so the client reads the answer; otherwise the connection closes.
   */
  private static final class JsonLimitAggregator extends HttpObjectAggregator {
    JsonLimitAggregator(final int maxContentLength) {
      super(maxContentLength);
    }

    @Override
    protected Object newContinueResponse(
        final HttpMessage start, final int maxContentLength, final ChannelPipeline pipeline) {
      final Object response = super.newContinueResponse(start, maxContentLength, pipeline);
      if (response instanceof FullHttpResponse full && full.status().code() >= 400) {
        // "Expect: 100-continue" refused (body too large, or an unknown expectation): same answer
        // as Netty's, with a JSON body.
        final HttpResponseStatus status = full.status();
        full.release();
        return HttpApi.json(
            status,
            Map.of(
                "error",
                status.code() == 413
                    ? "request body is larger than maxBodyBytes=" + MAX_BODY_BYTES
                    : "unsupported Expect header"));
      }
      return response;
    }

    @Override
    protected void handleOversizedMessage(final ChannelHandlerContext ctx, final HttpMessage oversized) {
      if (!(oversized instanceof HttpRequest)) {
        ctx.close();
        return;
      }
      final boolean close =
          oversized instanceof FullHttpMessage
              || (!HttpUtil.is100ContinueExpected(oversized) && !HttpUtil.isKeepAlive(oversized));
      final FullHttpResponse response =
          HttpApi.json(
              HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
              Map.of("error", "request body is larger than maxBodyBytes=" + MAX_BODY_BYTES));
      HttpUtil.setKeepAlive(response, !close);
      if (close) {
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      }
    }
  }
}
