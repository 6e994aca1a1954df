/**
 * The raftkit wire format: a protobuf schema of every RPC plus the handshake, and {@link
 * io.raftkit.wire.WireCodec}, the codec between {@link io.raftkit.wire.WireFrame}s (which carry
 * raft-api messages) and bytes, shared by every network transport.
 *
 * <p>The generated protobuf classes live in {@code io.raftkit.wire.proto}, which is not exported:
 * transports see only raft-api types and bytes. The package is opened to protobuf alone, so that
 * protobuf's reflective helpers ({@code toString}, text format) work on it.
 */
module io.raftkit.wire {
  requires transitive io.raftkit.api;
  requires com.google.protobuf;

  exports io.raftkit.wire;

  opens io.raftkit.wire.proto to
      com.google.protobuf;
}
