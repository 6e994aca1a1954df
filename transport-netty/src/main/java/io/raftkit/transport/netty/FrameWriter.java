package io.raftkit.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.raftkit.wire.WireFrame;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The outbound queue of one channel: any thread offers frames; one task on the channel's event
 * loop encodes every queued frame and flushes once per batch.
 *
 * <p><b>Why not {@code channel.writeAndFlush} per frame:</b> from a thread outside the event loop
 * that schedules one task and one flush (one syscall) per frame. Here a burst of sends from the
 * engine costs one task and one {@code writev}; frames queued while a batch is written go out with
 * the next batch. The trade-off: a frame waits for the event loop to pick up the task, which it
 * would also do for {@code writeAndFlush} from another thread.
 *
 * <p><b>Bounded memory.</b> The queue holds at most {@code netty.maxQueuedPerPeer} frames and,
 * unless it is empty, at most {@code netty.writeBufferHighWaterMark} estimated bytes: {@link
 * #offer} refuses rather than grow. A batch stops while the channel is not writable and goes on
 * when {@link #resume} is called on a writability change, so the channel's own outbound buffer
 * stays near the high water mark too. Frames are queued as {@link WireFrame}s, not buffers, so
 * dropping the queue leaks nothing. Thread-safe.
 */
final class FrameWriter implements Runnable {

  /**
   * A frame to write, and the request it carries if any.
   *
   * @param frame the frame
   * @param pending the request waiting for an answer, or {@code null} for a response
   * @param estimatedBytes about how many bytes the frame encodes to (see {@link Frames#estimate})
   */
  record Outgoing(WireFrame frame, Pending pending, long estimatedBytes) {
    Outgoing(final WireFrame frame, final Pending pending) {
      this(frame, pending, Frames.estimate(frame));
    }
  }

  /** Told about a frame that could not be written (too large, or encoding failed). */
  @FunctionalInterface
  interface Listener {
    void onUnwritable(Outgoing outgoing, RuntimeException error);
  }

  /** Frames per event-loop task, so that one busy channel does not starve the others. */
  private static final int MAX_FRAMES_PER_RUN = 1024;

  /** Bytes after which a batch is flushed early, so the socket starts sending. */
  private static final int FLUSH_EVERY_BYTES = 256 << 10;

  private final ConcurrentLinkedQueue<Outgoing> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final int maxQueued;
  private final long maxQueuedBytes;
  private final int maxFrameBytes;
  private final Listener listener;
  private volatile Channel channel;
  private volatile boolean closed;

  FrameWriter(final int maxQueued, final long maxQueuedBytes, final int maxFrameBytes, final Listener listener) {
    this.maxQueued = maxQueued;
    this.maxQueuedBytes = maxQueuedBytes;
    this.maxFrameBytes = maxFrameBytes;
    this.listener = listener;
  }

  /**
   * Queues a frame; it is written once {@link #start} has been called.
   *
   * @return false if the queue is full or the writer is closed
   */
  boolean offer(final Outgoing outgoing) {
    if (closed) {
      return false;
    }
    if (queued.incrementAndGet() > maxQueued) {
      queued.decrementAndGet();
      return false;
    }
    final long bytes = queuedBytes.addAndGet(outgoing.estimatedBytes());
    if (bytes > maxQueuedBytes && bytes != outgoing.estimatedBytes()) {
      // Over the byte bound, unless this is the only frame: one large frame always gets through.
      queuedBytes.addAndGet(-outgoing.estimatedBytes());
      queued.decrementAndGet();
      return false;
    }
    queue.add(outgoing);
    schedule();
    return true;
  }

  /** How many frames wait to be written. */
  int queued() {
    return queued.get();
  }

  /** Whether {@link #close} was called: the connection is gone. */
  boolean isClosed() {
    return closed;
  }

  /** How many estimated bytes wait to be written. */
  long queuedBytes() {
    return queuedBytes.get();
  }

  /** Goes on writing after the channel became writable again. */
  void resume() {
    schedule();
  }

  /** Starts writing to {@code ch}: what was queued before goes first. */
  void start(final Channel ch) {
    channel = ch;
    schedule();
  }

  /** Stops writing and drops the queue; {@link #offer} refuses from now on. Idempotent. */
  List<Outgoing> close() {
    closed = true;
    final List<Outgoing> dropped = new ArrayList<>();
    Outgoing o;
    while ((o = queue.poll()) != null) {
      queued.decrementAndGet();
      queuedBytes.addAndGet(-o.estimatedBytes());
      dropped.add(o);
    }
    return dropped;
  }

  private void schedule() {
    final Channel ch = channel;
    if (ch != null && scheduled.compareAndSet(false, true)) {
      try {
        ch.eventLoop().execute(this);
      } catch (final RejectedExecutionException e) {
        // The event loop is shutting down: the transport is closing and fails what is pending.
        scheduled.set(false);
      }
    }
  }

  /** Writes a batch; runs on the channel's event loop. */
  @Override
  public void run() {
    scheduled.set(false);
    final Channel ch = channel;
    if (closed || !ch.isActive()) {
      return; // the connection's close path fails the requests
    }
    int frames = 0;
    long unflushed = 0;
    Outgoing o;
    while (frames < MAX_FRAMES_PER_RUN && ch.isWritable() && (o = queue.poll()) != null) {
      queued.decrementAndGet();
      queuedBytes.addAndGet(-o.estimatedBytes());
      if (o.pending() != null && o.pending().isDone()) {
        continue; // timed out while queued: do not send it
      }
      final ByteBuf buf;
      try {
        buf = Frames.encode(ch.alloc(), o.frame(), maxFrameBytes);
      } catch (final RuntimeException e) {
        listener.onUnwritable(o, e);
        continue;
      }
      frames++;
      unflushed += buf.readableBytes();
      // The channel owns buf from here on; a failed write releases it and fires exceptionCaught.
      ch.write(buf, ch.voidPromise());
      if (unflushed >= FLUSH_EVERY_BYTES) {
        ch.flush();
        unflushed = 0;
      }
    }
    if (unflushed > 0) {
      ch.flush();
    }
    if (!queue.isEmpty() && ch.isWritable()) {
      schedule(); // more than one batch waits; otherwise resume() restarts on writability
    }
  }
}
