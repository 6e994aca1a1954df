/**
 * The Aeron transport. {@link io.raftkit.transport.aeron.AeronTransportProvider} is the entry
 * point; everything else is package-private.
 *
 * <p>Inside: {@code AeronTransport} owns the media driver (embedded, or an external one it
 * attaches to), the Aeron client and the one duty-cycle thread; {@code TransportAgent} is that
 * thread's work: it polls the node's subscription, reassembles {@code Envelope} chunks into
 * frames, runs the hello handshake, serves requests, and drains one bounded {@code Link} queue per
 * peer address into that peer's exclusive publication; {@code AeronOptions} reads the options.
 */
package io.raftkit.transport.aeron;
