package io.raftkit.storage.file.internal;

import io.raftkit.storage.support.Fs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the next log segment file ahead of time, on a background thread, so that the segment
 * the log rolls into already has all its blocks written and its size durable: a {@code
 * fdatasync} of records written into it then only flushes data, with no file-size change (and so
 * no file-system journal commit) to make durable.
 *
 * <p>The prepared file is {@value #TEMP_NAME} in the log directory: zero-filled to the segment
 * size with real writes (not a sparse {@code setLength}: writing into a hole still has to
 * allocate blocks, and {@code fallocate}'s unwritten extents still have to be converted, both
 * journalled), then forced with its metadata. The zeros are paced so that the log's own syncs
 * are not held up behind them: 256 KiB at a time, each chunk forced ({@code fdatasync}) before
 * the next, and after each chunk the thread leaves the disk alone for as long as the chunk took.
 * Measured with the cluster benchmark (3 nodes on one virtio disk, 64 MiB segments, 128
 * clients): zeros left to the page cache and forced once at the end reach the disk in one burst
 * and stalled writes for 100-350 ms per segment; 1 MiB chunks each forced, no pause, still gave
 * a p99 of 13-14 ms (1-2 s dips while the three nodes prepared at once); 256 KiB chunks with the
 * pause, 6-7 ms. A 64 MiB file then takes about half a second of a quiet disk, well within the
 * time the second half of a segment takes to fill. {@link SegmentedLog} asks for one
 * ({@link #start}) once its active segment is more than half full, so that short-lived logs never
 * pay for the zeros, and takes it ({@link #take}) when it rolls, never waiting for it: a roll
 * that finds no ready file creates an unpreallocated segment as before, and the file being
 * prepared serves the next roll. At most one file is prepared at a time.
 *
 * <p><b>Recycling.</b> Writing the zeros doubles what the disk writes, and on a disk the log's
 * syncs share it costs them: three threads syncing 13 KB writes back to back on this machine's
 * virtio disk, p99 1.1-1.5 ms alone and 3.3-3.8 ms with three zero-fillers paced as above. So a
 * segment file that a purge frees ({@link #offerRecycled}) is kept, one at a time, under
 * {@value #RECYCLE_NAME}, and the next preparation reuses it instead of writing zeros: its blocks
 * are allocated and written already, so it only needs topping up to the segment size (if it was
 * shorter), and forcing. A preparation writing zeros when such a file arrives switches to it. The
 * reused file still holds the purged segment's records past its new header; recovery never takes
 * them for entries because each has an index below the new segment's first (purged entries are
 * never written again; see {@link Segment}, "Recycled segments"). Only purged segments are
 * offered: segments removed by a truncation hold indexes that will be written again.
 *
 * <p><b>Failures</b> never fail the log: the preparer logs a warning, deletes its file and the
 * log carries on unpreallocated; it tries again for the next segment ({@link #rolled}). A crash
 * leaves at most the {@code .tmp} file, which {@link SegmentedLog#open} deletes.
 *
 * <p><b>Threading.</b> {@link #start}, {@link #take} and {@link #rolled} are called by the log's
 * writer thread, {@link #close} by whoever closes the log; the preparing runs on one daemon thread
 * ({@value #THREAD_NAME}) created on the first {@link #start} and ended after 30 s idle or by
 * {@link #close}. The state is guarded by this object's monitor; the file is handed over under it.
 */
final class Preallocator {

  private static final Logger LOG = LoggerFactory.getLogger(Preallocator.class);

  /** The name of the file being prepared, or prepared and not yet taken. */
  static final String TEMP_NAME = "prealloc-segment.tmp";

  /** The name a purged segment file is kept under until it is reused. */
  static final String RECYCLE_NAME = "recycle-segment.tmp";

  static final String THREAD_NAME = "raftkit-file-prealloc";

  private static final int CHUNK_BYTES = 256 << 10;

  private enum State {
    /** Nothing prepared or being prepared. */
    IDLE,
    /** A file is being prepared. */
    PREPARING,
    /** A file is ready to be taken. */
    READY,
    /** The last preparation failed; not retried before the next roll. */
    FAILED,
    /** Closed: nothing more is prepared. */
    CLOSED
  }

  /**
   * A prepared file, now the caller's: rename it into place or delete it.
   *
   * @param recycled whether it is a purged segment reused: past the new header it holds stale
   *     records, not zeros
   */
  record Prepared(Path path, FileChannel channel, boolean recycled) {}

  private final Path dir;
  private final long fileBytes;
  private final Path tempPath;
  private final Path recyclePath;

  // Guarded by this.
  private State state = State.IDLE;
  private FileChannel ready;
  private boolean readyRecycled;
  /** A purged segment file kept at {@link #recyclePath} for the next preparation. */
  private boolean recycleHeld;
  private int recycledPrepared;
  private ThreadPoolExecutor executor;
  private int prepared;
  private int failures;

  /** Read by the preparing thread between chunks: close() asked it to stop. */
  private volatile boolean stopping;

  /** Test hook: run by the preparing thread after each chunk it wrote. */
  volatile Runnable afterChunk = () -> {};

  Preallocator(final Path dir, final long fileBytes) {
    this.dir = dir;
    this.fileBytes = fileBytes;
    this.tempPath = dir.resolve(TEMP_NAME);
    this.recyclePath = dir.resolve(RECYCLE_NAME);
  }

  /** Starts preparing a file unless one is being prepared or ready, the last one failed, or closed. */
  synchronized void start() {
    if (state != State.IDLE) {
      return;
    }
    if (executor == null) {
      executor =
          new ThreadPoolExecutor(
              1,
              1,
              30,
              TimeUnit.SECONDS,
              new LinkedBlockingQueue<>(),
              r -> {
                final Thread t = new Thread(r, THREAD_NAME);
                t.setDaemon(true);
                return t;
              });
      executor.allowCoreThreadTimeOut(true);
    }
    state = State.PREPARING;
    executor.execute(this::prepare);
  }

  /** The ready file, which becomes the caller's, or null if none is ready; never waits. */
  synchronized Prepared take() {
    if (state != State.READY) {
      return null;
    }
    final Prepared p = new Prepared(tempPath, ready, readyRecycled);
    ready = null;
    state = State.IDLE;
    return p;
  }

  /**
   * Offers the file of a purged segment (closed by the caller) for reuse: keeps it, renamed to
   * {@value #RECYCLE_NAME}, if no other is kept and this is not closed, and returns true; returns
   * false otherwise (a failed rename too, logged), and the caller deletes it. Writer thread.
   */
  synchronized boolean offerRecycled(final Path segmentFile) {
    if (recycleHeld || state == State.CLOSED) {
      return false;
    }
    try {
      Files.move(segmentFile, recyclePath, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (final IOException e) {
      LOG.warn("could not keep the purged log segment file={} for reuse; deleting it: {}", segmentFile, e.toString());
      return false;
    }
    recycleHeld = true;
    notifyAll(); // a preparation writing zeros switches to it
    return true;
  }

  private synchronized boolean recycleHeld() {
    return recycleHeld;
  }

  /** Takes the kept purged segment file, moved to the temporary name, or returns false if none. */
  private synchronized boolean takeRecycled() throws IOException {
    if (!recycleHeld) {
      return false;
    }
    recycleHeld = false;
    Files.move(recyclePath, tempPath, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return true;
  }

  /** The log rolled into a new segment: a failed preparation may be tried again for the next one. */
  synchronized void rolled() {
    if (state == State.FAILED) {
      state = State.IDLE;
    }
  }

  private void prepare() {
    FileChannel ch = null;
    boolean done = false;
    try {
      if (stopping) {
        return;
      }
      boolean recycled = takeRecycled();
      ch = recycled ? reopen() : fresh();
      long pos = recycled ? Math.min(ch.size(), fileBytes) : 0;
      final ByteBuffer zeros = ByteBuffer.allocateDirect(CHUNK_BYTES);
      while (pos < fileBytes) {
        if (stopping) {
          return;
        }
        if (!recycled && recycleHeld()) {
          ch.close(); // the zeros written so far go with the file the recycled one replaces
          takeRecycled();
          ch = reopen();
          recycled = true;
          pos = Math.min(ch.size(), fileBytes);
          continue;
        }
        final long t0 = System.nanoTime();
        zeros.clear().limit((int) Math.min(CHUNK_BYTES, fileBytes - pos));
        Fs.writeFully(ch, zeros, pos);
        pos += zeros.limit();
        ch.force(false); // one chunk at a time: no burst of dirty pages to stall the log's syncs
        afterChunk.run();
        idle(System.nanoTime() - t0, !recycled);
      }
      if (stopping) {
        return;
      }
      if (ch.size() > fileBytes) {
        ch.truncate(fileBytes); // a recycled segment that held an entry larger than a segment
      }
      ch.force(true);
      synchronized (this) {
        if (state == State.PREPARING && !stopping) {
          ready = ch;
          readyRecycled = recycled;
          state = State.READY;
          prepared++;
          if (recycled) {
            recycledPrepared++;
          }
          done = true;
          notifyAll();
        }
      }
    } catch (final IOException | RuntimeException e) {
      LOG.warn("could not preallocate the next log segment file={} ({} bytes); carrying on without: {}",
          tempPath, fileBytes, e.toString());
      synchronized (this) {
        failures++;
      }
    } finally {
      if (!done) {
        discard(ch, tempPath);
        synchronized (this) {
          if (state == State.PREPARING) {
            state = stopping ? State.CLOSED : State.FAILED;
          }
          notifyAll();
        }
      }
    }
  }

  private FileChannel fresh() throws IOException {
    return FileChannel.open(
        tempPath,
        StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.READ,
        StandardOpenOption.WRITE);
  }

  private FileChannel reopen() throws IOException {
    return FileChannel.open(tempPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
  }

  /**
   * Leaves the disk to the log for as long as the last chunk took (so the zeros take at most
   * about half of it), returning at once when {@link #close} asks to stop or, if {@code
   * untilRecycled}, when a purged segment file is offered.
   */
  private synchronized void idle(final long nanos, final boolean untilRecycled) {
    final long deadline = System.nanoTime() + nanos;
    try {
      while (!stopping && !(untilRecycled && recycleHeld)) {
        final long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Closes and deletes a prepared (or half-prepared) file, logging rather than throwing. */
  static void discard(final FileChannel ch, final Path path) {
    try {
      if (ch != null) {
        ch.close();
      }
      Files.deleteIfExists(path);
    } catch (final IOException | RuntimeException e) {
      LOG.warn("could not delete the preallocated log segment file={}: {}", path, e.toString());
    }
  }

  /**
   * Stops preparing, waits for the preparing thread to end and deletes the file being prepared or
   * left unused, and a kept purged segment file. Idempotent.
   */
  void close() {
    final ThreadPoolExecutor ex;
    final FileChannel unused;
    final boolean recycleLeft;
    synchronized (this) {
      stopping = true;
      ex = executor;
      unused = ready;
      ready = null;
      recycleLeft = recycleHeld;
      recycleHeld = false;
      state = State.CLOSED;
      notifyAll();
    }
    if (ex != null) {
      ex.shutdown();
      boolean interrupted = false;
      try {
        while (!ex.awaitTermination(30, TimeUnit.SECONDS)) {
          LOG.warn("still waiting for the log segment preallocation in dir={} to stop", dir);
        }
      } catch (final InterruptedException e) {
        interrupted = true;
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    if (unused != null) {
      discard(unused, tempPath);
    }
    if (recycleLeft) {
      discard(null, recyclePath);
    }
  }

  // ------------------------------------------------------------------ for tests

  /**
   * Waits until a file is ready (true), or no file is being prepared (false), or the timeout.
   *
   * @return whether a prepared file is ready
   */
  synchronized boolean awaitSettled(final Duration timeout) throws InterruptedException {
    final long deadline = System.nanoTime() + timeout.toNanos();
    while (state == State.PREPARING) {
      final long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return state == State.READY;
  }

  /** How many files were prepared. */
  synchronized int prepared() {
    return prepared;
  }

  /** How many of the prepared files were purged segments reused. */
  synchronized int recycledPrepared() {
    return recycledPrepared;
  }

  /** Whether a purged segment file is kept for the next preparation. */
  synchronized boolean holdsRecycled() {
    return recycleHeld;
  }

  /** How many preparations failed. */
  synchronized int failures() {
    return failures;
  }

  /** Whether the preparing thread, if it was ever started, has ended (after {@link #close}). */
  synchronized boolean terminated() {
    return executor == null || executor.isTerminated();
  }

  /** Waits until {@link #close} asks the preparing thread to stop, or the timeout; returns whether it did. */
  synchronized boolean awaitStopping(final Duration timeout) throws InterruptedException {
    final long deadline = System.nanoTime() + timeout.toNanos();
    while (!stopping) {
      final long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return stopping;
  }
}
