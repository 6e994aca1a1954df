/**
 * The codec between raft-api messages and the bytes transports carry.
 *
 * <p>A transport sends {@link io.raftkit.wire.WireFrame}s: the handshake ({@link
 * io.raftkit.wire.WireFrame.Hello}, {@link io.raftkit.wire.WireFrame.HelloReply}), a request or a
 * response with its correlation id, or a failure. {@link io.raftkit.wire.WireCodec#encode} turns
 * a frame into an {@link io.raftkit.wire.EncodedFrame} that knows its size and writes itself into
 * any {@link java.nio.ByteBuffer} (heap or direct); {@link io.raftkit.wire.WireCodec#decode}
 * parses bytes back, tolerating fields it does not know and refusing malformed input with a
 * {@link io.raftkit.wire.WireFormatException}. The schema is {@code raftkit/wire/v1/raftkit.proto}
 * in this module's sources.
 */
package io.raftkit.wire;
