package io.raftkit.transport.netty;

import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFormatException;
import io.raftkit.wire.WireFrame;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;

/**
 * A hand-driven TCP peer speaking (or abusing) the netty transport's framing with a plain blocking
 * socket, for tests of what a listener does with what it receives. Every read has a 30 s timeout.
 */
final class RawPeer implements AutoCloseable {

  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;

  RawPeer(final String address) throws IOException {
    final HostPort hp = HostPort.parse(address);
    socket = new Socket();
    socket.connect(new InetSocketAddress(hp.host(), hp.port()), 30_000);
    socket.setSoTimeout(30_000);
    in = new DataInputStream(socket.getInputStream());
    out = new DataOutputStream(socket.getOutputStream());
  }

  /** Sends a well-formed frame. */
  void send(final WireFrame frame) throws IOException {
    sendBody(WireCodec.encodeToArray(frame));
  }

  /** Sends a length prefix and the given body. */
  void sendBody(final byte[] body) throws IOException {
    out.writeInt(body.length);
    out.write(body);
    out.flush();
  }

  /** Sends raw bytes, no prefix. */
  void sendRaw(final byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Reads one frame, or returns null if the other side closed the connection. */
  WireFrame receive() throws IOException {
    final int length;
    try {
      length = in.readInt();
    } catch (final EOFException | SocketException e) {
      return null;
    }
    final byte[] body = new byte[length];
    in.readFully(body);
    try {
      return WireCodec.decode(body);
    } catch (final WireFormatException e) {
      throw new IOException(e);
    }
  }

  /** Whether the other side has closed: reads and drops frames until end of stream. */
  boolean awaitClosed() throws IOException {
    for (int i = 0; i < 1_000_000; i++) {
      if (receive() == null) {
        return true;
      }
    }
    return false;
  }

  /** Completes the handshake as node {@code nodeId} of cluster {@code clusterId}. */
  WireFrame.HelloReply hello(final String clusterId, final long nodeId, final long targetId) throws IOException {
    send(new WireFrame.Hello(WireCodec.PROTOCOL_VERSION, clusterId, nodeId, 0, targetId));
    return (WireFrame.HelloReply) receive();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
