package io.raftkit.testkit;

import io.raftkit.testkit.local.LocalTransportProvider;
import io.raftkit.testkit.local.Network;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * An in-JVM network for the transport {@code "local"}, with faults a test can inject.
 *
 * <pre>{@code
 * try (LocalNetwork net = LocalNetwork.create()) {
 *   Raft<Long> raft = Raft.<Long>builder()
 *       .transport(LocalNetwork.PROVIDER_NAME)
 *       .option(LocalNetwork.NETWORK_OPTION, net.name())
 *       .bindAddress("node1")
 *       ...
 *   net.isolate(1);   // node 1 can neither send nor receive
 *   net.heal();
 * }
 * }</pre>
 *
 * <p><b>Addresses</b> are any non-blank strings, unique in one network. <b>Links</b> are between
 * node ids (the {@code nodeId} each transport was created with) and have a direction: a request
 * travels {@code from -> to}, its response {@code to -> from}. A request on a cut link fails at
 * once with {@link io.raftkit.api.error.UnreachableException}; if only the response direction is
 * cut, the request is handled and its response dropped, and the sender's future fails the same
 * way. A cut also drops messages already in the air on a delayed link. Peers of another {@code
 * clusterId} are refused.
 *
 * <p>Thread-safe: faults may be changed while nodes send. One daemon thread per network delivers
 * delayed messages and fires RPC timeouts; {@link #close()} stops it.
 */
public final class LocalNetwork implements AutoCloseable {

  /** The name of the transport provider that uses these networks. */
  public static final String PROVIDER_NAME = LocalTransportProvider.NAME;

  /** The transport option naming the network a node joins: {@code local.network=<name()>}. */
  public static final String NETWORK_OPTION = LocalTransportProvider.NETWORK_OPTION;

  private final Network network;

  private LocalNetwork(final Network network) {
    this.network = network;
  }

  /**
   * Creates a network with a name unique in this JVM.
   *
   * @return the network, open until {@link #close()}
   */
  public static LocalNetwork create() {
    return new LocalNetwork(Network.create());
  }

  /**
   * The network's name: the value to give the option {@value #NETWORK_OPTION}.
   *
   * @return the name
   */
  public String name() {
    return network.name();
  }

  /**
   * The addresses bound now, sorted.
   *
   * @return the addresses of the running transports
   */
  public List<String> addresses() {
    return network.addresses();
  }

  /**
   * Drops every message from {@code from} to {@code to} (requests that way, and responses to
   * requests that {@code to} sent to {@code from}).
   *
   * @param from the sending node id
   * @param to the receiving node id
   */
  public void cut(final long from, final long to) {
    network.cut(from, to);
  }

  /**
   * Cuts both directions between two nodes.
   *
   * @param a one node id
   * @param b the other node id
   */
  public void cutBoth(final long a, final long b) {
    network.cut(a, b);
    network.cut(b, a);
  }

  /**
   * Cuts every link to and from a node, also to nodes that start later, until {@link #rejoin} or
   * {@link #heal()}.
   *
   * @param nodeId the node to isolate
   */
  public void isolate(final long nodeId) {
    network.isolate(nodeId);
  }

  /**
   * Undoes {@link #isolate}; cuts of single links stay.
   *
   * @param nodeId the node to reconnect
   */
  public void rejoin(final long nodeId) {
    network.rejoin(nodeId);
  }

  /**
   * Removes the cut of one direction set by {@link #cut} or {@link #cutBoth}; isolations and
   * delays stay.
   *
   * @param from the sending node id
   * @param to the receiving node id
   */
  public void heal(final long from, final long to) {
    network.heal(from, to);
  }

  /** Removes every fault: cuts, isolations and delays. */
  public void heal() {
    network.heal();
  }

  /**
   * Delays every message from {@code from} to {@code to} by {@code delay}; messages on one delayed
   * link keep their order. {@link Duration#ZERO} removes the delay.
   *
   * @param from the sending node id
   * @param to the receiving node id
   * @param delay how long each message takes, not negative
   * @throws IllegalArgumentException if {@code delay} is negative
   */
  public void delay(final long from, final long to, final Duration delay) {
    network.delay(from, to, Objects.requireNonNull(delay, "delay"));
  }

  /** Decides, for each request about to leave a node, whether it is delivered. */
  @FunctionalInterface
  public interface RequestFilter {
    /**
     * Called on the sender's thread for every request before it travels.
     *
     * @param from the sending node id
     * @param to the receiving node id
     * @param request the request
     * @return false to drop the request (its sender sees it fail as if the link were cut)
     */
    boolean deliver(long from, long to, io.raftkit.api.message.RaftRequest request);
  }

  /**
   * Lets {@code filter} decide, for every request about to leave a node, whether it is delivered
   * (a dropped request fails as on a cut link); {@code null} removes the filter. For tests that
   * must stop a conversation at an exact message, such as the third chunk of a snapshot.
   *
   * @param filter the filter, or null
   */
  public void filter(final RequestFilter filter) {
    network.filter(filter);
  }

  /**
   * Whether messages from {@code from} to {@code to} are dropped now.
   *
   * @param from the sending node id
   * @param to the receiving node id
   * @return whether that direction is cut or either node is isolated
   */
  public boolean isCut(final long from, final long to) {
    return network.isCut(from, to);
  }

  /**
   * How many requests have reached a handler so far.
   *
   * @return the count
   */
  public long delivered() {
    return network.delivered();
  }

  /**
   * How many requests and responses cuts have dropped so far.
   *
   * @return the count
   */
  public long dropped() {
    return network.dropped();
  }

  /**
   * How many messages (requests or responses) sent by {@code nodeId} cuts have dropped so far.
   * An isolated follower sends only vote requests, so this counts its campaigns.
   *
   * @param nodeId the sender
   * @return the count
   */
  public long droppedFrom(final long nodeId) {
    return network.droppedFrom(nodeId);
  }

  /**
   * Closes every transport still bound (their pending requests fail with {@link
   * io.raftkit.api.error.ShutdownException}), stops the network's thread and forgets the name.
   * Idempotent.
   */
  @Override
  public void close() {
    network.close();
  }

  @Override
  public String toString() {
    return "LocalNetwork{" + network + "}";
  }
}
