package io.raftkit.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.CommonContext;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.spi.RequestHandler;
import io.raftkit.api.spi.Transport;
import io.raftkit.api.spi.TransportContext;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFrame;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.agrona.IoUtil;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's aeron transport: the media driver (embedded, run by this transport's thread, or
 * external), one Aeron client, one subscription at the bind address and one {@link
 * TransportAgent} duty-cycle thread that owns all of them after construction.
 *
 * <p>Thread-safe; {@link #send} never blocks and never throws: it encodes the request on the
 * caller's thread, queues it for the agent and wakes the agent up.
 */
final class AeronTransport implements Transport {

  private static final Logger LOG = LoggerFactory.getLogger(AeronTransport.class);

  /** Commands (sends and responses) waiting for the agent; above this, sends fail at once. */
  private static final int MAX_QUEUED_COMMANDS = 1 << 18;

  /** How long construction waits for the driver to bind an ephemeral port. */
  private static final long BIND_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final TransportContext context;
  private final AeronOptions options;
  private final long rpcTimeoutNanos;
  private final String localAddress;
  private final String replyAddress;
  private final MediaDriver driver;
  private final String aeronDir;
  private final ConcurrentLinkedQueue<Object> commands = new ConcurrentLinkedQueue<>();
  private final AtomicInteger commandCount = new AtomicInteger();
  private final AtomicLong correlationIds = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong badInput = new AtomicLong();
  private final TransportAgent agent;
  private final AgentRunner runner;
  private final Thread thread;

  AeronTransport(final TransportContext context, final AeronOptions options) throws IOException {
    this.context = context;
    this.options = options;
    this.rpcTimeoutNanos = context.rpcTimeout().toNanos();
    final HostPort bind;
    try {
      bind = HostPort.parse(context.bindAddress());
    } catch (final IllegalArgumentException e) {
      throw new IOException("cannot bind nodeId=" + context.nodeId() + ": " + e.getMessage(), e);
    }
    if (options.ipc() && bind.port() == 0) {
      throw new IOException("cannot bind nodeId=" + context.nodeId() + " at address=" + context.bindAddress() + ": "
          + AeronOptions.IPC + "=true uses the port as the stream id and needs a non-zero port");
    }
    final long incarnation = ThreadLocalRandom.current().nextLong() | 1L;
    MediaDriver launched = null;
    Aeron aeron = null;
    try {
      if (options.embedded()) {
        final String dir;
        if (options.dir() != null) {
          dir = options.dir();
        } else {
          final Path parent = defaultDriverParent(Path.of("/dev/shm"), Path.of(System.getProperty("java.io.tmpdir")));
          final String prefix =
              "raftkit-aeron-" + context.clusterId().replaceAll("[^A-Za-z0-9_.-]", "_") + "-node" + context.nodeId() + "-";
          deleteDeadDriverDirs(parent, prefix, options.driverTimeoutMs());
          dir = parent.resolve(prefix + Long.toHexString(incarnation)).toString();
        }
        launched = MediaDriver.launch(driverContext(dir));
        this.aeronDir = dir;
      } else {
        this.aeronDir = options.dir();
      }
      this.driver = launched;
      final AgentInvoker driverInvoker = launched == null ? null : launched.sharedAgentInvoker();
      if (driverInvoker != null && !driverInvoker.isStarted()) {
        driverInvoker.start();
      }
      aeron =
          Aeron.connect(
              new Aeron.Context()
                  .aeronDirectoryName(aeronDir)
                  .useConductorAgentInvoker(true)
                  .driverAgentInvoker(driverInvoker)
                  .driverTimeoutMs(options.driverTimeoutMs())
                  .errorHandler(e -> LOG.warn("nodeId={}: Aeron client error", context.nodeId(), e))
                  .subscriberErrorHandler(
                      e -> LOG.warn("nodeId={}: error while handling an image change", context.nodeId(), e)));
      final String channel;
      final int streamId;
      if (options.ipc()) {
        channel = new ChannelUriStringBuilder().media("ipc").build();
        streamId = bind.port();
      } else {
        channel = new ChannelUriStringBuilder().media("udp").endpoint(bind.format(bind.port())).build();
        streamId = options.streamId();
      }
      final TransportAgent[] holder = new TransportAgent[1];
      final Subscription subscription =
          aeron.addSubscription(channel, streamId, null, image -> {
            if (holder[0] != null) {
              holder[0].onUnavailableImage(image);
            }
          });
      final int port = options.ipc() || bind.port() != 0 ? bind.port() : resolvePort(subscription, aeron,
          driverInvoker);
      this.localAddress = bind.format(port);
      this.replyAddress =
          options.ipc() ? localAddress : new HostPort(InetAddress.getByName(bind.host()).getHostAddress(), port)
              .format(port);
      this.agent = new TransportAgent(this, aeron, driverInvoker, incarnation, commands, commandCount);
      holder[0] = agent;
      agent.subscription(subscription);
    } catch (final RuntimeException | UnknownHostException e) {
      if (aeron != null) {
        closeQuietly(aeron);
      }
      if (launched != null) {
        closeQuietly(launched);
      }
      throw new IOException(
          "nodeId=" + context.nodeId() + " cannot bind address=" + context.bindAddress() + " with an Aeron "
              + (options.embedded() ? "embedded" : "external") + " media driver at " + AeronOptions.DIR + "="
              + (options.dir() == null ? "(temporary)" : options.dir()) + ": " + e,
          e);
    }
    final IdleStrategy idle = new BackoffIdleStrategy(10, 5, 1_000, options.idleMaxParkNanos());
    this.runner =
        new AgentRunner(idle, e -> LOG.warn("nodeId={}: error in the transport's duty cycle", context.nodeId(), e),
            null, agent);
    this.thread = new Thread(runner, "raftkit-aeron-" + context.nodeId());
    thread.setDaemon(true);
    thread.start();
    LOG.info("nodeId={} listening at address={} ({}) with {} media driver at dir={} options={}",
        context.nodeId(), localAddress, options.ipc() ? "ipc" : "udp", options.embedded() ? "an embedded" : "an external",
        aeronDir, options);
  }

  private MediaDriver.Context driverContext(final String dir) {
    return new MediaDriver.Context()
        .aeronDirectoryName(dir)
        // Run by this transport's own thread: no driver threads at all, which suits small machines.
        .threadingMode(ThreadingMode.INVOKER)
        .dirDeleteOnStart(true)
        .dirDeleteOnShutdown(true)
        .warnIfDirectoryExists(false)
        .printConfigurationOnStart(false)
        .termBufferSparseFile(true)
        .publicationTermBufferLength(options.termLength())
        .ipcTermBufferLength(options.termLength())
        .errorHandler(e -> LOG.warn("nodeId={}: media driver error", context.nodeId(), e));
  }

  /**
   * Where an embedded driver's directory goes unless {@code aeron.dir} says: {@code shm} (Linux's
   * {@code /dev/shm}, memory) if it is a writable directory, else {@code tmp}. The directory holds
   * the publications' term buffers, memory-mapped files written with every message: on a disk file
   * system the kernel writes their dirty pages back to the disk, competing with the log's syncs for
   * the device (measured: the leader of the cluster benchmark writes ~20 MB/s through them), and a
   * write to a page under writeback waits for it.
   */
  static Path defaultDriverParent(final Path shm, final Path tmp) {
    return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : tmp;
  }

  /**
   * Deletes the directories under {@code parent} named {@code prefix*} whose media driver is not
   * running (no heartbeat within {@code driverTimeoutMs}): what an embedded driver of the same
   * cluster and node id left when its JVM was killed. On {@code /dev/shm} they would otherwise hold
   * memory until the machine restarts. A directory that cannot be read or deleted is left alone.
   *
   * @return how many were deleted
   */
  static int deleteDeadDriverDirs(final Path parent, final String prefix, final long driverTimeoutMs) {
    int deleted = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, prefix + "*")) {
      for (final Path d : dirs) {
        if (!Files.isDirectory(d) || CommonContext.isDriverActive(d.toFile(), driverTimeoutMs, msg -> {})) {
          continue;
        }
        try {
          IoUtil.delete(d.toFile(), false);
          deleted++;
          LOG.info("deleted the directory={} of a media driver that is no longer running", d);
        } catch (final RuntimeException e) {
          LOG.warn("could not delete the directory={} of a media driver that is no longer running", d, e);
        }
      }
    } catch (final IOException | RuntimeException e) {
      LOG.debug("could not look for dead media driver directories in {}", parent, e);
    }
    return deleted;
  }

  private int resolvePort(final Subscription subscription, final Aeron aeron, final AgentInvoker driverInvoker) {
    final long deadline = System.nanoTime() + BIND_WAIT_NANOS;
    while (true) {
      final String endpoint = subscription.resolvedEndpoint();
      if (endpoint != null) {
        return HostPort.parse(endpoint).port();
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("the media driver did not report the bound port within "
            + TimeUnit.NANOSECONDS.toMillis(BIND_WAIT_NANOS) + "ms");
      }
      if (driverInvoker != null) {
        driverInvoker.invoke();
      }
      aeron.conductorAgentInvoker().invoke();
      LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(100));
    }
  }

  private static void closeQuietly(final AutoCloseable c) {
    try {
      c.close();
    } catch (final Exception e) {
      LOG.debug("closing {} failed", c, e);
    }
  }

  /**
   * The address peers answer to, in this node's hellos: {@link #localAddress()} with the host
   * resolved to an IP literal, so that a receiver never resolves a name it got off the network.
   */
  String replyAddress() {
    return replyAddress;
  }

  /** {@inheritDoc} */
  @Override
  public String localAddress() {
    return localAddress;
  }

  /**
   * {@inheritDoc}
   *
   * <p>The future fails with {@link UnreachableException} if the address is not {@code host:port},
   * the request encodes to more than {@code aeron.maxFrameBytes}, the peer refuses the handshake,
   * the peer's queue is full, the peer's handler fails, or no response comes within the RPC
   * timeout; with {@link ShutdownException} if this transport is or gets closed first.
   */
  @Override
  public CompletableFuture<RaftResponse> send(
      final long targetId, final String targetAddress, final RaftRequest request) {
    final CompletableFuture<RaftResponse> result = new CompletableFuture<>();
    try {
      if (request == null || targetAddress == null) {
        result.completeExceptionally(
            new UnreachableException(
                "nodeId=" + context.nodeId() + " cannot send request=" + request + " to address=" + targetAddress));
        return result;
      }
      if (closed.get()) {
        result.completeExceptionally(shutdown(request));
        return result;
      }
      final HostPort hostPort = HostPort.parse(targetAddress);
      if (hostPort.port() == 0) {
        throw new IllegalArgumentException("address=" + targetAddress + " has port 0, which no peer listens on");
      }
      final long correlationId = correlationIds.incrementAndGet();
      final byte[] body = WireCodec.encodeToArray(new WireFrame.Request(correlationId, request));
      if (body.length > options.maxFrameBytes()) {
        result.completeExceptionally(
            new UnreachableException(
                "frame size=" + body.length + " exceeds maxFrameBytes=" + options.maxFrameBytes() + " (option "
                    + AeronOptions.MAX_FRAME_BYTES + "); request=" + request + " to targetId=" + targetId
                    + " not sent"));
        return result;
      }
      final long now = System.nanoTime();
      final Pending pending =
          new Pending(correlationId, targetId, targetAddress, request, result, now, now + rpcTimeoutNanos, body);
      if (!enqueue(pending)) {
        result.completeExceptionally(
            closed.get()
                ? shutdown(request)
                : new UnreachableException(
                    "transport of nodeId=" + context.nodeId() + " is overloaded: " + MAX_QUEUED_COMMANDS
                        + " commands wait for its thread; request=" + request + " to targetId=" + targetId
                        + " not sent"));
        return result;
      }
      if (closed.get()) {
        // close() may have drained the queue before this request was added.
        result.completeExceptionally(shutdown(request));
      }
    } catch (final IllegalArgumentException e) {
      result.completeExceptionally(
          new UnreachableException("cannot send to targetId=" + targetId + ": " + e.getMessage(), e));
    } catch (final RuntimeException e) {
      result.completeExceptionally(
          new UnreachableException("sending request=" + request + " to targetId=" + targetId + " failed: " + e, e));
    }
    return result;
  }

  /** Queues a command for the agent and wakes it; false if closed or over the bound. */
  boolean enqueue(final Object command) {
    if (closed.get()) {
      return false;
    }
    if (commandCount.incrementAndGet() > MAX_QUEUED_COMMANDS) {
      commandCount.decrementAndGet();
      return false;
    }
    commands.add(command);
    LockSupport.unpark(thread);
    return true;
  }

  /**
   * Stops the agent thread, fails every pending request with {@link ShutdownException}, closes the
   * Aeron client and, for an embedded driver, stops it and deletes its directory. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (Thread.currentThread() == thread) {
      // Called from a callback on the agent thread: it cannot wait for itself. The agent stops at
      // its next duty cycle and fails what is pending there; the driver is closed by a helper.
      agent.stop();
      final Thread closer = new Thread(this::finishClose, "raftkit-aeron-close-" + context.nodeId());
      closer.setDaemon(true);
      closer.start();
      return;
    }
    finishClose();
  }

  private void finishClose() {
    LockSupport.unpark(thread);
    runner.close();
    if (driver != null) {
      closeQuietly(driver);
    }
    Object c;
    while ((c = commands.poll()) != null) {
      commandCount.decrementAndGet();
      if (c instanceof Pending p) {
        p.future.completeExceptionally(shutdown(p.request));
      }
    }
    LOG.info("nodeId={} at address={} closed", context.nodeId(), localAddress);
  }

  // ------------------------------------------------------------- used by the agent

  long nodeId() {
    return context.nodeId();
  }

  String clusterId() {
    return context.clusterId();
  }

  RequestHandler handler() {
    return context.handler();
  }

  AeronOptions options() {
    return options;
  }

  long rpcTimeoutNanos() {
    return rpcTimeoutNanos;
  }

  void countBadInput() {
    badInput.incrementAndGet();
  }

  /** How many bad inputs (malformed, unexpected or refused frames) were dropped so far. */
  long badInputCount() {
    return badInput.get();
  }

  /** The media driver directory in use. */
  String aeronDir() {
    return aeronDir;
  }

  ShutdownException shutdown(final RaftRequest request) {
    return new ShutdownException(
        "transport of nodeId=" + context.nodeId() + " at address=" + localAddress + " is closed; request=" + request
            + " not answered");
  }

  @Override
  public String toString() {
    return "AeronTransport{nodeId=" + context.nodeId() + ", address=" + localAddress + ", ipc=" + options.ipc()
        + ", embedded=" + options.embedded() + "}";
  }
}
