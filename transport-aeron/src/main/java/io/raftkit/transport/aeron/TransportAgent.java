package io.raftkit.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFormatException;
import io.raftkit.wire.WireFrame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The duty cycle of one aeron transport, run by an {@code AgentRunner} on the transport's own
 * thread. Each {@link #doWork} invokes the embedded media driver (when there is one) and the Aeron
 * client conductor, takes commands queued by other threads, polls the subscription, drains every
 * peer's queue into its publication, and once per tick expires requests and retries handshakes.
 *
 * <p><b>Single writer.</b> Every field below the constructor's is owned by the agent thread: no
 * locks. Other threads reach it only through {@link #commands} (a lock-free queue) and a wake-up.
 *
 * <p><b>Back-pressure.</b> An {@code offer} that returns {@code BACK_PRESSURED}, {@code
 * ADMIN_ACTION} or {@code NOT_CONNECTED} leaves the chunk at the head of that peer's queue and
 * moves on: the thread never spins on one publication. Each peer queue is bounded ({@code
 * aeron.maxQueuedPerPeer} frames, {@code aeron.maxQueuedBytesPerPeer} bytes); a request that does
 * not fit fails at once, and a peer whose publication stays unconnected longer than the RPC
 * timeout has its queue failed.
 */
final class TransportAgent implements Agent {

  private static final Logger LOG = LoggerFactory.getLogger(TransportAgent.class);

  /** Commands taken from other threads per duty cycle. */
  private static final int COMMAND_LIMIT = 4096;

  /** Aeron fragments read per poll. */
  private static final int FRAGMENT_LIMIT = 256;

  /** Offers per peer per duty cycle, so that one busy peer does not starve the others. */
  private static final int OFFERS_PER_DRAIN = 1024;

  /** Reassembly buffers above this are not kept for the next frame. */
  private static final int RETAINED_REASSEMBLY_BYTES = 1 << 20;

  /** Inbound sessions remembered; the oldest is forgotten first (it re-handshakes). */
  private static final int MAX_SESSIONS = 4096;

  /** At most one bad-input warning per interval. */
  private static final long BAD_INPUT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  static final int NEW = 0;
  static final int SENT = 1;
  static final int READY = 2;
  static final int REFUSED = 3;

  private final AeronTransport transport;
  private final long nodeId;
  private final String clusterId;
  private final RequestHandler handler;
  private final AeronOptions options;
  private final Aeron aeron;
  private final AgentInvoker driverInvoker;
  private final AgentInvoker clientInvoker;
  private final long incarnation;
  private final long rpcTimeoutNanos;
  private final long tickNanos;
  private final long helloRetryNanos;
  private final long refusalBackoffNanos;
  private final ConcurrentLinkedQueue<Object> commands;
  private final AtomicInteger commandCount;
  private final int maxInboundBody;
  private final byte[] helloPrefix;

  private Subscription subscription;
  private final FragmentAssembler assembler = new FragmentAssembler(this::onFragment);
  private final Map<String, Link> links = new HashMap<>();
  /** The values of {@link #links}, iterated by the duty cycle: callbacks may open links meanwhile. */
  private Link[] linkArray = new Link[0];
  private final Long2ObjectHashMap<Pending> inFlight = new Long2ObjectHashMap<>();
  private final Long2ObjectHashMap<Handshake> handshakesById = new Long2ObjectHashMap<>();
  private final Int2ObjectHashMap<Reassembly> reassemblies = new Int2ObjectHashMap<>();
  private final LinkedHashMap<Long, Session> sessions =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(final Map.Entry<Long, Session> eldest) {
          return size() > MAX_SESSIONS;
        }
      };
  private final UnsafeBuffer headerBuffer = new UnsafeBuffer(new byte[Envelope.HEADER_LENGTH]);
  private final UnsafeBuffer bodyBuffer = new UnsafeBuffer(new byte[0]);
  private byte[] scratch = new byte[4096];
  private long nextHandshakeId = 1;
  private long nextTickNanos;
  private volatile Thread thread;
  private volatile boolean stopping;
  private long lastBadInputLogNanos = System.nanoTime() - BAD_INPUT_LOG_INTERVAL_NANOS;
  private long suppressedBadInputLogs;

  TransportAgent(
      final AeronTransport transport,
      final Aeron aeron,
      final AgentInvoker driverInvoker,
      final long incarnation,
      final ConcurrentLinkedQueue<Object> commands,
      final AtomicInteger commandCount) {
    this.transport = transport;
    this.nodeId = transport.nodeId();
    this.clusterId = transport.clusterId();
    this.handler = transport.handler();
    this.options = transport.options();
    this.aeron = aeron;
    this.driverInvoker = driverInvoker;
    this.clientInvoker = aeron.conductorAgentInvoker();
    this.incarnation = incarnation;
    this.rpcTimeoutNanos = transport.rpcTimeoutNanos();
    this.tickNanos =
        Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.min(TimeUnit.MILLISECONDS.toNanos(20), rpcTimeoutNanos / 4));
    this.helloRetryNanos =
        Math.max(TimeUnit.MILLISECONDS.toNanos(10), Math.min(TimeUnit.MILLISECONDS.toNanos(250), rpcTimeoutNanos / 4));
    this.refusalBackoffNanos = Math.min(TimeUnit.SECONDS.toNanos(1), rpcTimeoutNanos);
    this.commands = commands;
    this.commandCount = commandCount;
    this.maxInboundBody = options.maxFrameBytes() + 2 + Envelope.MAX_REPLY_ADDRESS_LENGTH;
    final byte[] address = transport.replyAddress().getBytes(StandardCharsets.US_ASCII);
    this.helloPrefix = new byte[2 + address.length];
    helloPrefix[0] = (byte) address.length;
    helloPrefix[1] = (byte) (address.length >>> 8);
    System.arraycopy(address, 0, helloPrefix, 2, address.length);
  }

  /** Sets the subscription; called once before the agent starts. */
  void subscription(final Subscription subscription) {
    this.subscription = subscription;
  }

  /** Called by the subscription when a publisher's image goes away: forget its partial frame. */
  void onUnavailableImage(final Image image) {
    reassemblies.remove(image.sessionId());
  }

  /** The thread running the agent once started, for wake-ups. */
  Thread thread() {
    return thread;
  }

  /** Asks the agent to stop at its next duty cycle (used when close is called on its own thread). */
  void stop() {
    stopping = true;
  }

  @Override
  public String roleName() {
    return "raftkit-aeron-" + nodeId;
  }

  @Override
  public void onStart() {
    thread = Thread.currentThread();
    nextTickNanos = System.nanoTime() + tickNanos;
  }

  @Override
  public int doWork() {
    if (stopping) {
      throw new AgentTerminationException("transport of nodeId=" + nodeId + " closing");
    }
    int work = 0;
    if (driverInvoker != null) {
      work += driverInvoker.invoke();
    }
    work += clientInvoker.invoke();
    work += drainCommands();
    work += subscription.poll(assembler, FRAGMENT_LIMIT);
    final long now = System.nanoTime();
    for (final Link link : linkArray) {
      work += link.drain(now);
    }
    if (now - nextTickNanos >= 0) {
      nextTickNanos = now + tickNanos;
      tick(now);
    }
    return work;
  }

  /** Fails everything still pending with {@link ShutdownException}; runs on the agent thread. */
  @Override
  public void onClose() {
    final List<Pending> all = new ArrayList<>(inFlight.values());
    inFlight.clear();
    for (final Link link : links.values()) {
      for (final Handshake hs : link.handshakes.values()) {
        all.addAll(hs.waiting);
        hs.waiting.clear();
      }
      link.queue.clear();
    }
    for (final Pending p : all) {
      p.future.completeExceptionally(transport.shutdown(p.request));
    }
    try {
      aeron.close();
    } catch (final RuntimeException e) {
      LOG.warn("nodeId={}: closing the Aeron client failed", nodeId, e);
    }
  }

  // ------------------------------------------------------------------------------ commands

  private int drainCommands() {
    int n = 0;
    Object c;
    while (n < COMMAND_LIMIT && (c = commands.poll()) != null) {
      commandCount.decrementAndGet();
      n++;
      if (c instanceof Pending p) {
        onSend(p, System.nanoTime());
      } else {
        final Respond r = (Respond) c;
        respondOnAgent(r.session, r.body);
      }
    }
    return n;
  }

  /** A response encoded on another thread, for a session's link. */
  record Respond(Session session, byte[] body) {}

  private void onSend(final Pending p, final long now) {
    if (p.isDone()) {
      return;
    }
    final Link link;
    try {
      link = link(p.address, true);
    } catch (final RuntimeException e) {
      fail(p, "cannot reach targetId=" + p.targetId + " at address=" + p.address + ": " + e.getMessage());
      return;
    }
    inFlight.put(p.correlationId, p);
    link.lastUsedNanos = now;
    Handshake hs = link.handshakes.get(p.targetId);
    if (hs == null) {
      hs = new Handshake(link, p.targetId);
      link.handshakes.put(p.targetId, hs);
    }
    p.handshake = hs;
    if (hs.state == READY) {
      if (!link.offer(new Outgoing(Envelope.TYPE_REQUEST, 0, p.body, p), true)) {
        fail(p, queueFull(link, p));
      }
      return;
    }
    if (hs.state == REFUSED) {
      if (now - hs.refusedUntilNanos < 0) {
        fail(p, hs.refusal);
        return;
      }
      hs.state = NEW;
    }
    if (hs.waiting.size() >= options.maxQueuedPerPeer()) {
      fail(p, queueFull(link, p));
      return;
    }
    hs.waiting.add(p);
    if (hs.state == NEW) {
      sendHello(hs, now);
    }
  }

  private String queueFull(final Link link, final Pending p) {
    return "targetId=" + p.targetId + " at address=" + p.address + " is back-pressured: queuedFrames="
        + link.queuedFrames + " queuedBytes=" + link.queuedBytes + " (" + AeronOptions.MAX_QUEUED_PER_PEER + "="
        + options.maxQueuedPerPeer() + ", " + AeronOptions.MAX_QUEUED_BYTES_PER_PEER + "="
        + options.maxQueuedBytesPerPeer() + "); request=" + p.request + " not sent";
  }

  private void sendHello(final Handshake hs, final long now) {
    if (hs.id != 0) {
      handshakesById.remove(hs.id);
    }
    hs.id = nextHandshakeId++;
    handshakesById.put(hs.id, hs);
    hs.state = SENT;
    resendHello(hs, now);
  }

  private void resendHello(final Handshake hs, final long now) {
    hs.lastHelloNanos = now;
    final byte[] frame =
        WireCodec.encodeToArray(new WireFrame.Hello(WireCodec.PROTOCOL_VERSION, clusterId, nodeId, 0, hs.targetId));
    final byte[] body = new byte[helloPrefix.length + frame.length];
    System.arraycopy(helloPrefix, 0, body, 0, helloPrefix.length);
    System.arraycopy(frame, 0, body, helloPrefix.length, frame.length);
    hs.link.offer(new Outgoing(Envelope.TYPE_HELLO, hs.id, body, null), false);
  }

  private void fail(final Pending p, final String message) {
    inFlight.remove(p.correlationId);
    p.future.completeExceptionally(new UnreachableException(message));
  }

  /**
   * The link to an address, opened if needed.
   *
   * @param forSend whether a local send asks (always allowed) rather than an inbound hello (bounded
   *     by {@code aeron.maxLinks}, so that forged hellos cannot open publications without limit)
   * @return the link, or {@code null} if the bound is reached
   * @throws IllegalArgumentException if the address is not {@code host:port}
   */
  private Link link(final String address, final boolean forSend) {
    final Link existing = links.get(address);
    if (existing != null) {
      return existing;
    }
    final HostPort hostPort = HostPort.parse(address);
    if (hostPort.port() == 0) {
      throw new IllegalArgumentException("address=" + address + " has port 0, which no peer listens on");
    }
    if (!forSend && !options.ipc() && !isIpLiteral(hostPort.host())) {
      // Never make the driver resolve a name that came off the network (a DNS lookup would stall
      // this thread); a sender puts its resolved IP in its hello.
      throw new IllegalArgumentException("reply address=" + address + " is not an IP literal");
    }
    if (!forSend && links.size() >= options.maxLinks() && !evictInboundLink()) {
      return null;
    }
    final Link link = new Link(address, hostPort);
    link.lastUsedNanos = System.nanoTime();
    links.put(address, link);
    linkArray = links.values().toArray(new Link[0]);
    return link;
  }

  /**
   * Closes the least recently used link that only carries answers (none of this node's requests
   * use it), so that hellos with forged reply addresses cannot lock real peers out.
   *
   * @return false if every link carries requests
   */
  private boolean evictInboundLink() {
    Link oldest = null;
    for (final Link link : linkArray) {
      if (link.handshakes.isEmpty() && (oldest == null || link.lastUsedNanos - oldest.lastUsedNanos < 0)) {
        oldest = link;
      }
    }
    if (oldest == null) {
      return false;
    }
    links.remove(oldest.address);
    linkArray = links.values().toArray(new Link[0]);
    oldest.closed = true;
    try {
      oldest.publication.close();
    } catch (final RuntimeException e) {
      LOG.debug("nodeId={}: closing publication to address={} failed", nodeId, oldest.address, e);
    }
    LOG.debug("nodeId={}: closed the least recently used answer link to address={} ({}={})", nodeId,
        oldest.address, AeronOptions.MAX_LINKS, options.maxLinks());
    return true;
  }

  /**
   * The channel of the publication to a peer: IPC, or UDP to its endpoint with the MTU {@link
   * AeronOptions#mtuFor} picks for its host; sparse term buffers of {@code aeron.termLength}.
   */
  static String publicationChannel(final AeronOptions options, final HostPort peer) {
    final ChannelUriStringBuilder uri =
        new ChannelUriStringBuilder().termLength(options.termLength()).sparse(Boolean.TRUE);
    if (options.ipc()) {
      return uri.media("ipc").build();
    }
    return uri.media("udp").endpoint(peer.format(peer.port())).mtu(options.mtuFor(peer.host())).build();
  }

  static boolean isIpLiteral(final String host) {
    if (host.indexOf(':') >= 0) {
      // IPv6: 2..7 colons, groups of at most 4 hex digits, at most one "::" (no embedded IPv4).
      final String[] groups = host.split(":", -1);
      if (groups.length < 3 || groups.length > 8 || host.indexOf("::") != host.lastIndexOf("::")
          || host.contains(":::")) {
        return false;
      }
      for (final String group : groups) {
        if (group.length() > 4) {
          return false;
        }
        for (int i = 0; i < group.length(); i++) {
          if (Character.digit(group.charAt(i), 16) < 0) {
            return false;
          }
        }
      }
      return groups.length == 8 || host.contains("::");
    }
    final String[] parts = host.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (final String part : parts) {
      if (part.isEmpty() || part.length() > 3) {
        return false;
      }
      for (int i = 0; i < part.length(); i++) {
        if (part.charAt(i) < '0' || part.charAt(i) > '9') {
          return false;
        }
      }
      if (Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  // ------------------------------------------------------------------------------ timers

  private void tick(final long now) {
    final Iterator<Pending> it = inFlight.values().iterator();
    while (it.hasNext()) {
      final Pending p = it.next();
      if (p.isDone()) {
        it.remove();
      } else if (now - p.deadlineNanos >= 0) {
        it.remove();
        final Handshake hs = p.handshake;
        if (hs != null && hs.state == READY && hs.lastHeardNanos - p.createdNanos < 0) {
          // The peer has said nothing since this request was sent: it may have restarted and
          // forgotten this node's session. Say hello again before the next request.
          hs.state = NEW;
        }
        p.future.completeExceptionally(
            new UnreachableException(
                "targetId=" + p.targetId + " at address=" + p.address + " did not answer request=" + p.request
                    + " within rpcTimeout=" + TimeUnit.NANOSECONDS.toMillis(rpcTimeoutNanos) + "ms"));
      }
    }
    for (final Link link : linkArray) {
      link.tick(now);
      for (final Handshake hs : link.handshakes.values()) {
        hs.waiting.removeIf(Pending::isDone);
        // No retry while nobody listens: the queued hello goes out once the publication connects.
        if (hs.state == SENT && !hs.waiting.isEmpty() && !link.notConnected
            && now - hs.lastHelloNanos >= helloRetryNanos) {
          resendHello(hs, now);
        }
      }
    }
  }

  // ------------------------------------------------------------------------------ inbound

  /** One Aeron message (already reassembled from MTU fragments by the {@link FragmentAssembler}). */
  private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header) {
    if (!Envelope.hasValidPrefix(buffer, offset, length)) {
      badInput("message length=" + length + " from sessionId=" + header.sessionId() + " lacks the envelope header");
      return;
    }
    final int flags = buffer.getByte(offset + Envelope.FLAGS_OFFSET) & 0xFF;
    final byte type = buffer.getByte(offset + Envelope.TYPE_OFFSET);
    final long senderIncarnation = buffer.getLong(offset + Envelope.INCARNATION_OFFSET);
    final long handshakeId = buffer.getLong(offset + Envelope.HANDSHAKE_ID_OFFSET);
    final int total = buffer.getInt(offset + Envelope.TOTAL_LENGTH_OFFSET);
    final int chunkOffset = buffer.getInt(offset + Envelope.CHUNK_OFFSET_OFFSET);
    final int chunkLength = length - Envelope.HEADER_LENGTH;
    if (total < 0 || total > maxInboundBody || chunkOffset < 0 || chunkOffset > total - chunkLength) {
      badInput("envelope of type=" + Envelope.typeName(type) + " has totalLength=" + total + " chunkOffset="
          + chunkOffset + " chunkLength=" + chunkLength + " (maxFrameBytes=" + options.maxFrameBytes() + ")");
      reassemblies.remove(header.sessionId());
      return;
    }
    final boolean begin = (flags & Envelope.FLAG_BEGIN) != 0;
    final boolean end = (flags & Envelope.FLAG_END) != 0;
    if (begin && end) {
      if (chunkOffset != 0 || chunkLength != total) {
        badInput("single-chunk envelope has chunkOffset=" + chunkOffset + " chunkLength=" + chunkLength
            + " totalLength=" + total);
        return;
      }
      final Reassembly stale = reassemblies.get(header.sessionId());
      if (stale != null && stale.active) {
        badInput("frame of totalLength=" + stale.total + " from sessionId=" + header.sessionId() + " was cut short");
        stale.reset();
      }
      if (scratch.length < chunkLength) {
        scratch = new byte[Math.max(chunkLength, scratch.length * 2)];
      }
      buffer.getBytes(offset + Envelope.HEADER_LENGTH, scratch, 0, chunkLength);
      dispatch(type, senderIncarnation, handshakeId, scratch, chunkLength);
      return;
    }
    Reassembly r = reassemblies.get(header.sessionId());
    if (begin) {
      if (chunkOffset != 0) {
        badInput("first chunk has chunkOffset=" + chunkOffset);
        return;
      }
      if (r == null) {
        r = new Reassembly();
        reassemblies.put(header.sessionId(), r);
      } else if (r.active) {
        badInput("frame of totalLength=" + r.total + " from sessionId=" + header.sessionId() + " was cut short");
      }
      r.begin(type, senderIncarnation, handshakeId, total);
    } else if (r == null || !r.active || r.type != type || r.incarnation != senderIncarnation || r.total != total
        || r.received != chunkOffset) {
      badInput("chunk of type=" + Envelope.typeName(type) + " chunkOffset=" + chunkOffset + " totalLength=" + total
          + " does not continue a frame from sessionId=" + header.sessionId());
      if (r != null) {
        r.reset();
      }
      return;
    }
    r.append(buffer, offset + Envelope.HEADER_LENGTH, chunkLength);
    if (end) {
      if (r.received != r.total) {
        badInput("last chunk ends at " + r.received + " but totalLength=" + r.total);
        r.reset();
        return;
      }
      final byte[] bytes = r.bytes;
      final int len = r.total;
      r.reset();
      dispatch(type, senderIncarnation, handshakeId, bytes, len);
    }
  }

  private void dispatch(
      final byte type, final long senderIncarnation, final long handshakeId, final byte[] bytes, final int length) {
    switch (type) {
      case Envelope.TYPE_HELLO -> onHello(senderIncarnation, handshakeId, bytes, length);
      case Envelope.TYPE_HELLO_REPLY -> onHelloReply(senderIncarnation, handshakeId, bytes, length);
      case Envelope.TYPE_REQUEST -> onRequest(senderIncarnation, bytes, length);
      case Envelope.TYPE_RESPONSE -> onResponse(senderIncarnation, bytes, length);
      default -> badInput("envelope has unknown type=" + type);
    }
  }

  private WireFrame decode(final byte[] bytes, final int offset, final int length, final String what) {
    try {
      return WireCodec.decode(bytes, offset, length);
    } catch (final WireFormatException e) {
      badInput("malformed " + what + " frame: " + e.getMessage());
      return null;
    }
  }

  private void onHello(final long senderIncarnation, final long handshakeId, final byte[] bytes, final int length) {
    if (length < 2) {
      badInput("hello of length=" + length + " has no reply address");
      return;
    }
    final int addressLength = (bytes[0] & 0xFF) | ((bytes[1] & 0xFF) << 8);
    if (addressLength == 0 || addressLength > Envelope.MAX_REPLY_ADDRESS_LENGTH || 2 + addressLength > length) {
      badInput("hello has replyAddressLength=" + addressLength + " in length=" + length);
      return;
    }
    final String replyAddress = new String(bytes, 2, addressLength, StandardCharsets.US_ASCII);
    final WireFrame frame = decode(bytes, 2 + addressLength, length - 2 - addressLength, "hello");
    if (frame == null) {
      return;
    }
    if (frame.kind() != WireFrame.Kind.HELLO) {
      badInput("HELLO envelope carries a " + frame.kind() + " frame");
      return;
    }
    final WireFrame.Hello hello = (WireFrame.Hello) frame;
    final String problem;
    if (hello.protocolVersion() != WireCodec.PROTOCOL_VERSION) {
      problem = "protocolVersion=" + hello.protocolVersion() + " but nodeId=" + nodeId + " speaks protocolVersion="
          + WireCodec.PROTOCOL_VERSION;
    } else if (!hello.clusterId().equals(clusterId)) {
      problem = "clusterId=" + hello.clusterId() + " but nodeId=" + nodeId + " is in clusterId=" + clusterId;
    } else if (hello.targetNodeId() != 0 && hello.targetNodeId() != nodeId) {
      problem = "targetId=" + hello.targetNodeId() + " but address=" + transport.localAddress() + " is nodeId="
          + nodeId;
    } else if (hello.groupId() != 0) {
      problem = "groupId=" + hello.groupId() + " but only groupId=0 is served";
    } else {
      problem = null;
    }
    final Link link;
    try {
      link = link(replyAddress, false);
    } catch (final IllegalArgumentException e) {
      badInput("hello from nodeId=" + hello.nodeId() + " has a bad reply address: " + e.getMessage());
      return;
    } catch (final RuntimeException e) {
      badInput("cannot open a publication to replyAddress=" + replyAddress + " of nodeId=" + hello.nodeId() + ": "
          + e);
      return;
    }
    if (link == null) {
      badInput("hello from nodeId=" + hello.nodeId() + " at replyAddress=" + replyAddress + " dropped: "
          + AeronOptions.MAX_LINKS + "=" + options.maxLinks() + " publications are open");
      return;
    }
    link.lastUsedNanos = System.nanoTime();
    if (problem != null) {
      badInput("refused hello from nodeId=" + hello.nodeId() + " at replyAddress=" + replyAddress + ": " + problem);
      sendHelloReply(link, handshakeId, false, problem);
      return;
    }
    sessions.put(senderIncarnation, new Session(hello.nodeId(), replyAddress, link));
    sendHelloReply(link, handshakeId, true, "");
  }

  private void sendHelloReply(final Link link, final long handshakeId, final boolean accepted, final String reason) {
    final byte[] body =
        WireCodec.encodeToArray(
            new WireFrame.HelloReply(accepted, WireCodec.PROTOCOL_VERSION, clusterId, nodeId, 0, reason));
    link.offer(new Outgoing(Envelope.TYPE_HELLO_REPLY, handshakeId, body, null), false);
  }

  private void onHelloReply(
      final long senderIncarnation, final long handshakeId, final byte[] bytes, final int length) {
    final WireFrame frame = decode(bytes, 0, length, "hello reply");
    if (frame == null) {
      return;
    }
    if (frame.kind() != WireFrame.Kind.HELLO_REPLY) {
      badInput("HELLO_REPLY envelope carries a " + frame.kind() + " frame");
      return;
    }
    final Handshake hs = handshakesById.get(handshakeId);
    if (hs == null || hs.state != SENT) {
      LOG.debug("nodeId={}: ignoring a hello reply for handshakeId={} (stale or duplicate)", nodeId, handshakeId);
      return;
    }
    final WireFrame.HelloReply reply = (WireFrame.HelloReply) frame;
    final String problem;
    if (!reply.accepted()) {
      problem = "refused by peer: " + reply.reason();
    } else if (reply.protocolVersion() != WireCodec.PROTOCOL_VERSION) {
      problem = "peer protocolVersion=" + reply.protocolVersion() + " but this node speaks protocolVersion="
          + WireCodec.PROTOCOL_VERSION;
    } else if (!reply.clusterId().equals(clusterId)) {
      problem = "peer clusterId=" + reply.clusterId() + " but this node's clusterId=" + clusterId;
    } else if (reply.nodeId() != hs.targetId) {
      problem = "address=" + hs.link.address + " is nodeId=" + reply.nodeId() + ", not targetId=" + hs.targetId;
    } else {
      problem = null;
    }
    final long now = System.nanoTime();
    if (problem != null) {
      hs.state = REFUSED;
      hs.refusedUntilNanos = now + refusalBackoffNanos;
      hs.refusal = "handshake with targetId=" + hs.targetId + " at address=" + hs.link.address + " failed: " + problem;
      LOG.warn("nodeId={}: {}", nodeId, hs.refusal);
      final List<Pending> waiting = new ArrayList<>(hs.waiting);
      hs.waiting.clear();
      for (final Pending p : waiting) {
        fail(p, hs.refusal);
      }
      return;
    }
    hs.state = READY;
    hs.peerIncarnation = senderIncarnation;
    hs.lastHeardNanos = now;
    Pending p;
    while ((p = hs.waiting.poll()) != null) {
      if (!p.isDone() && !hs.link.offer(new Outgoing(Envelope.TYPE_REQUEST, 0, p.body, p), true)) {
        fail(p, queueFull(hs.link, p));
      }
    }
  }

  private void onRequest(final long senderIncarnation, final byte[] bytes, final int length) {
    final Session session = sessions.get(senderIncarnation);
    if (session == null) {
      badInput("request from an unknown session incarnation=" + senderIncarnation
          + " dropped (no hello; the sender says hello again after its rpcTimeout)");
      return;
    }
    final WireFrame frame = decode(bytes, 0, length, "request");
    if (frame == null) {
      return;
    }
    switch (frame.kind()) {
      case REQUEST -> serve(session, frame.correlationId(), ((WireFrame.Request) frame).request());
      case UNSUPPORTED ->
          respondOnAgent(
              session,
              WireCodec.encodeToArray(
                  new WireFrame.Failure(
                      frame.correlationId(),
                      "nodeId=" + nodeId + " does not support frame bodyNumber="
                          + ((WireFrame.Unsupported) frame).bodyNumber() + " (protocolVersion="
                          + WireCodec.PROTOCOL_VERSION + ")")));
      case HELLO, HELLO_REPLY, RESPONSE, FAILURE ->
          badInput("REQUEST envelope from nodeId=" + session.nodeId + " carries a " + frame.kind() + " frame");
    }
  }

  private void serve(final Session session, final long correlationId, final RaftRequest request) {
    final CompletableFuture<RaftResponse> response;
    try {
      response = handler.handle(session.nodeId, request);
    } catch (final RuntimeException e) {
      LOG.warn("nodeId={}: handler threw on request={} from nodeId={}", nodeId, request, session.nodeId, e);
      respondOnAgent(
          session,
          WireCodec.encodeToArray(new WireFrame.Failure(correlationId, "handler of nodeId=" + nodeId + " threw: " + e)));
      return;
    }
    if (response == null) {
      respondOnAgent(
          session,
          WireCodec.encodeToArray(
              new WireFrame.Failure(correlationId, "handler of nodeId=" + nodeId + " returned no future")));
      return;
    }
    // Not whenCompleteAsync: the continuation runs on whichever thread completes the response and
    // only encodes and queues the answer.
    response.whenComplete(
        (answer, error) -> {
          final WireFrame out;
          if (error == null && answer != null) {
            out = new WireFrame.Response(correlationId, answer);
          } else {
            final Throwable cause =
                error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            out = new WireFrame.Failure(correlationId, "nodeId=" + nodeId + " did not answer: " + cause);
          }
          respond(session, WireCodec.encodeToArray(out));
        });
  }

  /** Queues a response from any thread. */
  private void respond(final Session session, final byte[] body) {
    if (Thread.currentThread() == thread) {
      respondOnAgent(session, body);
    } else if (!transport.enqueue(new Respond(session, body))) {
      LOG.debug("nodeId={}: dropped a response to nodeId={}: transport closed or overloaded", nodeId,
          session.nodeId);
    }
  }

  private void respondOnAgent(final Session session, final byte[] body) {
    if (session.link.closed) {
      final Link reopened;
      try {
        reopened = link(session.replyAddress, false);
      } catch (final RuntimeException e) {
        LOG.debug("nodeId={}: cannot reopen a link to address={}", nodeId, session.replyAddress, e);
        return;
      }
      if (reopened == null) {
        return;
      }
      session.link = reopened;
    }
    session.link.lastUsedNanos = System.nanoTime();
    if (!session.link.offer(new Outgoing(Envelope.TYPE_RESPONSE, 0, body, null), true)) {
      LOG.debug("nodeId={}: dropped a response to nodeId={}: queue to address={} is full", nodeId, session.nodeId,
          session.link.address);
    }
  }

  private void onResponse(final long senderIncarnation, final byte[] bytes, final int length) {
    final WireFrame frame = decode(bytes, 0, length, "response");
    if (frame == null) {
      return;
    }
    if (frame.kind() == WireFrame.Kind.HELLO || frame.kind() == WireFrame.Kind.HELLO_REPLY
        || frame.kind() == WireFrame.Kind.REQUEST) {
      badInput("RESPONSE envelope carries a " + frame.kind() + " frame");
      return;
    }
    final Pending p = inFlight.get(frame.correlationId());
    if (p == null) {
      return; // timed out or failed already
    }
    final Handshake hs = p.handshake;
    if (hs == null || hs.peerIncarnation != senderIncarnation) {
      badInput("response correlationId=" + frame.correlationId() + " from incarnation=" + senderIncarnation
          + " does not come from the peer the request went to");
      return;
    }
    inFlight.remove(p.correlationId);
    hs.lastHeardNanos = System.nanoTime();
    switch (frame.kind()) {
      case RESPONSE -> p.future.complete(((WireFrame.Response) frame).response());
      case FAILURE ->
          p.future.completeExceptionally(
              new UnreachableException(
                  "targetId=" + p.targetId + " at address=" + p.address + " did not answer request=" + p.request
                      + ": " + ((WireFrame.Failure) frame).message()));
      case UNSUPPORTED ->
          p.future.completeExceptionally(
              new UnreachableException(
                  "targetId=" + p.targetId + " at address=" + p.address + " answered request=" + p.request
                      + " with a frame this node does not support"));
      case HELLO, HELLO_REPLY, REQUEST -> throw new IllegalStateException("unreachable: " + frame.kind());
    }
  }

  /**
   * Logs bad input at warn level, at most once per second; the next message says how many were
   * suppressed meanwhile. Counts every occurrence.
   */
  private void badInput(final String message) {
    transport.countBadInput();
    final long now = System.nanoTime();
    if (now - lastBadInputLogNanos < BAD_INPUT_LOG_INTERVAL_NANOS) {
      suppressedBadInputLogs++;
      return;
    }
    lastBadInputLogNanos = now;
    final long suppressed = suppressedBadInputLogs;
    suppressedBadInputLogs = 0;
    LOG.warn("nodeId={}: dropped bad input: {}{}", nodeId, message,
        suppressed > 0 ? " (" + suppressed + " similar messages suppressed in the last second)" : "");
  }

  // ------------------------------------------------------------------------------ state types

  /** A frame to send on a link. */
  static final class Outgoing {
    final byte type;
    final long handshakeId;
    final byte[] body;
    final Pending pending;

    Outgoing(final byte type, final long handshakeId, final byte[] body, final Pending pending) {
      this.type = type;
      this.handshakeId = handshakeId;
      this.body = body;
      this.pending = pending;
    }
  }

  /** An accepted inbound peer: where its requests' answers go. */
  static final class Session {
    final long nodeId;
    final String replyAddress;
    Link link;

    Session(final long nodeId, final String replyAddress, final Link link) {
      this.nodeId = nodeId;
      this.replyAddress = replyAddress;
      this.link = link;
    }
  }

  /** This node's handshake with one target id at one address. */
  static final class Handshake {
    final Link link;
    final long targetId;
    final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    int state = NEW;
    long id;
    long lastHelloNanos;
    long lastHeardNanos;
    long peerIncarnation;
    long refusedUntilNanos;
    String refusal;

    Handshake(final Link link, final long targetId) {
      this.link = link;
      this.targetId = targetId;
    }
  }

  /** A frame being put back together from chunks of one image, bounded by its announced length. */
  static final class Reassembly {
    boolean active;
    byte type;
    long incarnation;
    long handshakeId;
    int total;
    int received;
    byte[] bytes = new byte[0];

    void begin(final byte type, final long incarnation, final long handshakeId, final int total) {
      this.active = true;
      this.type = type;
      this.incarnation = incarnation;
      this.handshakeId = handshakeId;
      this.total = total;
      this.received = 0;
    }

    void append(final DirectBuffer src, final int offset, final int length) {
      final int needed = received + length;
      if (bytes.length < needed) {
        // Grow by doubling, never past the announced total: a forged header cannot make this
        // allocate more than the frame's real bytes (times two) or the maximum frame size.
        final int capacity = (int) Math.min(total, Math.max(needed, 2L * bytes.length));
        final byte[] grown = new byte[capacity];
        System.arraycopy(bytes, 0, grown, 0, received);
        bytes = grown;
      }
      src.getBytes(offset, bytes, received, length);
      received = needed;
    }

    void reset() {
      active = false;
      received = 0;
      if (bytes.length > RETAINED_REASSEMBLY_BYTES) {
        bytes = new byte[0];
      }
    }
  }

  /**
   * The exclusive publication to one address and its bounded queue of frames. A frame larger than
   * one Aeron message is offered as consecutive chunks; a chunk refused by back-pressure stays at
   * the head and is retried on the next duty cycle.
   */
  final class Link {
    final String address;
    final String channel;
    final int streamId;
    final ArrayDeque<Outgoing> queue = new ArrayDeque<>();
    final Map<Long, Handshake> handshakes = new HashMap<>(4);
    ExclusivePublication publication;
    int queuedFrames;
    long queuedBytes;
    Outgoing current;
    int currentOffset;
    long notConnectedSinceNanos;
    boolean notConnected;
    long lastUsedNanos;
    boolean closed;

    Link(final String address, final HostPort hostPort) {
      this.address = address;
      this.channel = publicationChannel(options, hostPort);
      this.streamId = options.ipc() ? hostPort.port() : options.streamId();
      this.publication = aeron.addExclusivePublication(channel, streamId);
    }

    /**
     * Queues a frame.
     *
     * @param bounded whether the queue bounds apply (control frames bypass them)
     * @return false if the queue is full
     */
    boolean offer(final Outgoing o, final boolean bounded) {
      if (bounded
          && (queuedFrames >= options.maxQueuedPerPeer()
              || (queuedFrames > 0 && queuedBytes + o.body.length > options.maxQueuedBytesPerPeer()))) {
        return false;
      }
      queue.add(o);
      queuedFrames++;
      queuedBytes += o.body.length;
      return true;
    }

    int drain(final long now) {
      int offers = 0;
      while (offers < OFFERS_PER_DRAIN) {
        if (current == null) {
          final Outgoing next = queue.poll();
          if (next == null) {
            break;
          }
          queuedFrames--;
          queuedBytes -= next.body.length;
          if (next.pending != null && next.pending.isDone()) {
            continue; // timed out while queued: do not send it
          }
          current = next;
          currentOffset = 0;
        }
        final int total = current.body.length;
        final int chunk = Math.min(publication.maxMessageLength() - Envelope.HEADER_LENGTH, total - currentOffset);
        final int flags =
            (currentOffset == 0 ? Envelope.FLAG_BEGIN : 0) | (currentOffset + chunk == total ? Envelope.FLAG_END : 0);
        Envelope.write(headerBuffer, flags, current.type, incarnation, current.handshakeId, total, currentOffset);
        bodyBuffer.wrap(current.body);
        final long result =
            publication.offer(headerBuffer, 0, Envelope.HEADER_LENGTH, bodyBuffer, currentOffset, chunk, null);
        if (result > 0) {
          offers++;
          notConnected = false;
          currentOffset += chunk;
          if (currentOffset == total) {
            current = null;
          }
        } else if (result == Publication.NOT_CONNECTED) {
          if (!notConnected) {
            notConnected = true;
            notConnectedSinceNanos = now;
          }
          break;
        } else if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION) {
          break;
        } else {
          // CLOSED or MAX_POSITION_EXCEEDED: start a new publication (a new image at the peer).
          LOG.warn("nodeId={}: publication to address={} returned {}; opening a new one", nodeId, address,
              Publication.errorString(result));
          reopen();
          break;
        }
      }
      return offers;
    }

    private void reopen() {
      try {
        publication.close();
      } catch (final RuntimeException e) {
        LOG.debug("nodeId={}: closing publication to address={} failed", nodeId, address, e);
      }
      current = null;
      publication = aeron.addExclusivePublication(channel, streamId);
    }

    void tick(final long now) {
      if (publication.isConnected()) {
        notConnected = false;
        return;
      }
      if (!notConnected) {
        notConnected = true;
        notConnectedSinceNanos = now;
      } else if (now - notConnectedSinceNanos > rpcTimeoutNanos && (current != null || !queue.isEmpty())) {
        // Nobody has listened at the address for a whole RPC timeout: drop what waits for it.
        Outgoing o;
        final String why = "address=" + address + " not connected for longer than rpcTimeout="
            + TimeUnit.NANOSECONDS.toMillis(rpcTimeoutNanos) + "ms";
        final boolean partial = current != null && currentOffset > 0;
        if (current != null && current.pending != null) {
          fail(current.pending, why);
        }
        current = null;
        while ((o = queue.poll()) != null) {
          if (o.pending != null) {
            fail(o.pending, "targetId=" + o.pending.targetId + " unreachable: " + why);
          }
        }
        queuedFrames = 0;
        queuedBytes = 0;
        if (partial) {
          // Abandoning a frame half-sent would leave the peer a partial frame: a new publication
          // starts a new image, whose first frame is whole.
          reopen();
        }
      }
    }
  }
}
