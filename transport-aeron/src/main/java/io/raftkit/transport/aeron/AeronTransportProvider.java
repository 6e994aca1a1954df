package io.raftkit.transport.aeron;

import io.raftkit.api.error.ConfigException;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.api.spi.TransportProvider;
import java.io.IOException;

/**
 * The transport provider {@code "aeron"}: Raft RPCs over Aeron UDP unicast, or Aeron IPC between
 * nodes that share one media driver.
 *
 * <h2>Addresses</h2>
 *
 * {@code host:port}, IPv6 hosts in brackets. Over UDP the node subscribes at {@code
 * aeron:udp?endpoint=host:port} (stream {@code aeron.streamId}); port 0 binds an ephemeral port,
 * which {@link Transport#localAddress()} then reports. With {@code aeron.ipc=true} the port is the
 * node's IPC stream id (non-zero) and every node must use the same media driver ({@code
 * aeron.embedded=false}, one {@code aeron.dir}).
 *
 * <h2>Behaviour</h2>
 *
 * <ul>
 *   <li><b>Media driver.</b> By default the transport launches an embedded driver in {@code
 *       INVOKER} threading mode in a new directory under {@code /dev/shm} (memory: the term
 *       buffers are memory-mapped files written with every message, which on a disk file system
 *       the kernel would also write to the disk), or under {@code java.io.tmpdir} where there is
 *       no writable {@code /dev/shm} (or in {@code aeron.dir}), named after the cluster and node,
 *       and deletes it on close. A JVM killed outright cannot: the next start of the same cluster
 *       and node id deletes such leftovers whose driver is no longer running. With {@code
 *       aeron.embedded=false} it attaches to the running driver at {@code aeron.dir}.
 *   <li><b>One thread.</b> The transport's duty-cycle thread runs the embedded driver, the Aeron
 *       client conductor and the transport itself, idling with a {@code BackoffIdleStrategy}
 *       (10 spins, 5 yields, then parks from 1 µs up to {@code aeron.idleMaxParkMicros}); a send
 *       wakes it at once. Nothing busy-spins when idle.
 *   <li><b>Publications.</b> One exclusive publication per peer address carries requests to it
 *       and responses to its requests. Frames are protobuf ({@code raft-wire}) behind a 32-byte
 *       envelope (type, sender incarnation, handshake id, total length, chunk offset). A frame
 *       larger than one Aeron message ({@code aeron.termLength / 8}) is sent as consecutive
 *       chunks and reassembled by the receiver into a buffer that never outgrows the frame's
 *       announced length, itself at most {@code aeron.maxFrameBytes}. Aeron splits each message
 *       into datagrams of at most {@code aeron.mtu} bytes, one system call each on both sides:
 *       on loopback the default sends a 64-entry append of 128-byte writes in one datagram
 *       instead of seven.
 *   <li><b>Handshake.</b> Before its first request to a peer a node sends a hello (protocol
 *       version, cluster id, node id, group id, the node id it expects, and the address to answer
 *       to). The peer refuses a node of another cluster, protocol version or expected node id
 *       (logged, answered with a refusal); requests waiting for that hello fail, and so do new
 *       ones for one second or the RPC timeout, whichever is shorter. A request that times out
 *       without the peer having answered anything since makes the next request say hello again,
 *       so a peer that restarted (and forgot the session) is found again.
 *   <li><b>Back-pressure without spinning.</b> An offer refused by back-pressure or a missing
 *       connection stays queued and is retried on the next duty cycle. Each peer's queue is
 *       bounded ({@code aeron.maxQueuedPerPeer} frames and {@code aeron.maxQueuedBytesPerPeer}
 *       bytes, one larger frame admitted when it is empty); a request that does not fit fails at
 *       once with {@link io.raftkit.api.error.UnreachableException}, and so does everything
 *       queued for an address whose publication has had no subscriber for longer than the RPC
 *       timeout.
 *   <li>Every request fails with {@code UnreachableException} if no response comes within {@link
 *       TransportContext#rpcTimeout()}.
 *   <li>{@code close()} fails every pending request with {@link
 *       io.raftkit.api.error.ShutdownException}, closes the client and stops an embedded driver.
 *   <li>Bad input (no envelope, malformed protobuf, chunks out of order, requests from a sender
 *       that never said hello) is dropped and logged at most once per second.
 * </ul>
 *
 * <h2>Options</h2>
 *
 * <table>
 *   <caption>aeron options</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code aeron.embedded}</td><td>true</td><td>launch an embedded media driver</td></tr>
 *   <tr><td>{@code aeron.dir}</td><td>a new directory under {@code /dev/shm}, else under {@code
 *       java.io.tmpdir}</td><td>the driver's directory; required when not embedded</td></tr>
 *   <tr><td>{@code aeron.ipc}</td><td>false</td><td>use IPC (one shared driver) instead of
 *       UDP</td></tr>
 *   <tr><td>{@code aeron.streamId}</td><td>21062</td><td>the UDP stream id of every node</td></tr>
 *   <tr><td>{@code aeron.termLength}</td><td>2097152 (2 MiB)</td><td>term length of
 *       publications; a power of two. One Aeron message is at most an eighth of it</td></tr>
 *   <tr><td>{@code aeron.maxFrameBytes}</td><td>33554432 (32 MiB)</td><td>largest frame sent or
 *       accepted</td></tr>
 *   <tr><td>{@code aeron.maxQueuedPerPeer}</td><td>65536</td><td>frames waiting for one peer's
 *       publication</td></tr>
 *   <tr><td>{@code aeron.maxQueuedBytesPerPeer}</td><td>67108864 (64 MiB)</td><td>bytes waiting
 *       for one peer's publication</td></tr>
 *   <tr><td>{@code aeron.idleMaxParkMicros}</td><td>1000</td><td>longest park of the idle
 *       thread: the worst added latency for inbound messages when idle</td></tr>
 *   <tr><td>{@code aeron.driverTimeoutMs}</td><td>10000</td><td>the client's media driver
 *       timeout</td></tr>
 *   <tr><td>{@code aeron.mtu}</td><td>{@code auto}</td><td>the largest UDP datagram a
 *       publication sends, a multiple of 32 in [1024, min(65504, termLength / 8)]. {@code auto}:
 *       65504 (or {@code termLength / 8} if smaller) to a loopback peer ({@code localhost},
 *       {@code 127.x.x.x}, {@code ::1}), whose interface carries it whole, and Aeron's 1408 to
 *       any other, which fits an Ethernet frame. Set it higher on a jumbo-frame network</td></tr>
 *   <tr><td>{@code aeron.maxLinks}</td><td>256</td><td>publications opened in answer to hellos
 *       (senders' reply addresses)</td></tr>
 * </table>
 *
 * <p>Every JVM using this provider needs {@code --add-exports
 * java.base/jdk.internal.misc=org.agrona} (Agrona's access to {@code Unsafe}).
 *
 * <p>Public with a public no-argument constructor for {@link java.util.ServiceLoader}; stateless.
 */
public final class AeronTransportProvider implements TransportProvider {

  /** The provider's name. */
  public static final String NAME = "aeron";

  /** Creates the provider; called by {@link java.util.ServiceLoader}. */
  public AeronTransportProvider() {}

  /** {@inheritDoc} */
  @Override
  public String name() {
    return NAME;
  }

  /**
   * {@inheritDoc}
   *
   * @throws ConfigException if an option is invalid
   * @throws IOException if the bind address is not {@code host:port} or cannot be bound, or the
   *     media driver cannot be launched or reached
   */
  @Override
  public Transport create(final TransportContext context) throws IOException {
    return new AeronTransport(context, AeronOptions.from(context));
  }

  @Override
  public String toString() {
    return "AeronTransportProvider{name=" + NAME + "}";
  }
}
