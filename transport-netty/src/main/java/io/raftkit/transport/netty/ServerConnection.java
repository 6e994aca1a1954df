package io.raftkit.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFormatException;
import io.raftkit.wire.WireFrame;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one accepted connection: checks the peer's {@link WireFrame.Hello}, then hands each
 * request to the node's handler and writes its response (or a {@link WireFrame.Failure}) back
 * through a {@link FrameWriter}.
 *
 * <p>Back-pressure: while the channel is not writable (the peer reads responses more slowly than
 * they are produced), reading requests stops, so TCP flow control slows the sender down.
 *
 * <p>Runs on the channel's event loop, except for response callbacks, which only queue frames.
 */
final class ServerConnection extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(ServerConnection.class);

  private final NettyTransport transport;
  private final FrameWriter writer;
  private long peerId = -1;
  private ScheduledFuture<?> handshakeTimeout;

  ServerConnection(final NettyTransport transport) {
    this.transport = transport;
    this.writer =
        new FrameWriter(
            transport.options().maxQueuedPerPeer(),
            transport.options().writeBufferHighWaterMark(),
            transport.options().maxFrameBytes(),
            (o, e) -> {
              // A response too large for the frame limit: tell the requester rather than let it wait.
              LOG.warn("nodeId={}: cannot send {} to nodeId={}: {}", transport.nodeId(), o.frame().kind(), peerId,
                  e.getMessage());
              if (o.frame().kind() == WireFrame.Kind.RESPONSE) {
                queue(new WireFrame.Failure(o.frame().correlationId(), e.getMessage()));
              }
            });
  }

  @Override
  public void channelActive(final ChannelHandlerContext ctx) {
    final long millis = transport.options().handshakeTimeout().toMillis();
    handshakeTimeout =
        ctx.executor()
            .schedule(
                () -> {
                  if (peerId < 0) {
                    transport.logBadInput(LOG, "nodeId={}: no hello from remote={} within {}ms; closing",
                        transport.nodeId(), ctx.channel().remoteAddress(), millis);
                    ctx.close();
                  }
                },
                millis,
                TimeUnit.MILLISECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(final ChannelHandlerContext ctx, final Object msg) {
    final WireFrame frame;
    final ByteBuf buf = (ByteBuf) msg;
    try {
      frame = Frames.decode(buf);
    } catch (final WireFormatException e) {
      transport.logBadInput(LOG, "nodeId={}: malformed frame from nodeId={} remote={}; closing: {}",
          transport.nodeId(), peerId, ctx.channel().remoteAddress(), e.getMessage());
      ctx.close();
      return;
    } finally {
      buf.release();
    }
    if (peerId < 0) {
      handshake(ctx, frame);
      return;
    }
    switch (frame.kind()) {
      case REQUEST -> serve(frame.correlationId(), ((WireFrame.Request) frame).request());
      case UNSUPPORTED ->
          queue(
              new WireFrame.Failure(
                  frame.correlationId(),
                  "nodeId=" + transport.nodeId() + " does not support frame bodyNumber="
                      + ((WireFrame.Unsupported) frame).bodyNumber() + " (protocolVersion="
                      + WireCodec.PROTOCOL_VERSION + ")"));
      case HELLO, HELLO_REPLY, RESPONSE, FAILURE -> {
        transport.logBadInput(LOG, "nodeId={}: unexpected {} frame from nodeId={} remote={}; closing",
            transport.nodeId(), frame.kind(), peerId, ctx.channel().remoteAddress());
        ctx.close();
      }
    }
  }

  private void handshake(final ChannelHandlerContext ctx, final WireFrame frame) {
    if (frame.kind() != WireFrame.Kind.HELLO) {
      transport.logBadInput(LOG, "nodeId={}: expected HELLO from remote={} but got {}; closing",
          transport.nodeId(), ctx.channel().remoteAddress(), frame.kind());
      ctx.close();
      return;
    }
    final WireFrame.Hello hello = (WireFrame.Hello) frame;
    final String problem;
    if (hello.protocolVersion() != WireCodec.PROTOCOL_VERSION) {
      problem = "protocolVersion=" + hello.protocolVersion() + " but nodeId=" + transport.nodeId()
          + " speaks protocolVersion=" + WireCodec.PROTOCOL_VERSION;
    } else if (!hello.clusterId().equals(transport.clusterId())) {
      problem = "clusterId=" + hello.clusterId() + " but nodeId=" + transport.nodeId() + " is in clusterId="
          + transport.clusterId();
    } else if (hello.targetNodeId() != 0 && hello.targetNodeId() != transport.nodeId()) {
      problem = "targetId=" + hello.targetNodeId() + " but address=" + transport.localAddress() + " is nodeId="
          + transport.nodeId();
    } else if (hello.groupId() != 0) {
      problem = "groupId=" + hello.groupId() + " but only groupId=0 is served";
    } else {
      problem = null;
    }
    if (handshakeTimeout != null) {
      handshakeTimeout.cancel(false);
    }
    if (problem != null) {
      transport.logBadInput(LOG, "nodeId={}: refused connection from nodeId={} remote={}: {}",
          transport.nodeId(), hello.nodeId(), ctx.channel().remoteAddress(), problem);
      final WireFrame.HelloReply refusal =
          new WireFrame.HelloReply(false, WireCodec.PROTOCOL_VERSION, transport.clusterId(), transport.nodeId(), 0,
              problem);
      ctx.writeAndFlush(Frames.encode(ctx.alloc(), refusal, transport.options().maxFrameBytes()))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    peerId = hello.nodeId();
    writer.start(ctx.channel());
    queue(new WireFrame.HelloReply(true, WireCodec.PROTOCOL_VERSION, transport.clusterId(), transport.nodeId(), 0, ""));
  }

  private void serve(final long correlationId, final RaftRequest request) {
    final CompletableFuture<RaftResponse> response;
    try {
      response = transport.handler().handle(peerId, request);
    } catch (final RuntimeException e) {
      LOG.warn("nodeId={}: handler threw on request={} from nodeId={}", transport.nodeId(), request, peerId, e);
      queue(new WireFrame.Failure(correlationId, "handler of nodeId=" + transport.nodeId() + " threw: " + e));
      return;
    }
    if (response == null) {
      queue(new WireFrame.Failure(correlationId, "handler of nodeId=" + transport.nodeId() + " returned no future"));
      return;
    }
    // Not whenCompleteAsync: the continuation runs on whichever thread completes the response, and
    // only queues a frame.
    response.whenComplete(
        (answer, error) -> {
          if (error == null && answer != null) {
            queue(new WireFrame.Response(correlationId, answer));
          } else {
            final Throwable cause =
                error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            queue(new WireFrame.Failure(correlationId, "nodeId=" + transport.nodeId() + " did not answer: " + cause));
          }
        });
  }

  private void queue(final WireFrame frame) {
    if (!writer.offer(new FrameWriter.Outgoing(frame, null))) {
      LOG.debug("nodeId={}: dropped {} correlationId={} to nodeId={}: connection closed or queue full",
          transport.nodeId(), frame.kind(), frame.correlationId(), peerId);
    }
  }

  @Override
  public void channelWritabilityChanged(final ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(ctx.channel().isWritable());
    if (ctx.channel().isWritable()) {
      writer.resume();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(final ChannelHandlerContext ctx) {
    writer.close();
    if (handshakeTimeout != null) {
      handshakeTimeout.cancel(false);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
    transport.logChannelError(ctx.channel(), "from nodeId=" + peerId, cause);
    ctx.close();
  }
}
