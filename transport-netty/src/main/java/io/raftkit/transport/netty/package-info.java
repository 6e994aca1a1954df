/**
 * The Netty TCP transport. {@link io.raftkit.transport.netty.NettyTransportProvider} is the entry
 * point; everything else is package-private.
 *
 * <p>Inside: {@code NettyTransport} owns the event loop group, the listening channel and one
 * {@code PeerConnection} per peer (the client side: handshake, requests in flight, timeouts,
 * reconnection backoff); {@code ServerConnection} serves one accepted connection; {@code
 * FrameWriter} queues frames for one channel and writes them on its event loop with one flush per
 * batch; {@code Frames} turns {@link io.raftkit.wire.WireFrame}s into length-prefixed {@code
 * ByteBuf}s and back, so that no {@code ByteBuf} leaves this package.
 *
 * <p>With TLS configured ({@code NettyOptions}: a PKCS12 or PEM key and trust, built into two
 * Netty {@code SslContext}s on the JDK's provider by the provider class), an {@code SslHandler}
 * is the first handler of every connection: the listener requires a client certificate, the
 * dialler checks the listener's host name, and the cluster-id hello travels inside TLS. A failed
 * handshake closes the connection; {@code PeerConnection} fails its requests naming the TLS error.
 */
package io.raftkit.transport.netty;
