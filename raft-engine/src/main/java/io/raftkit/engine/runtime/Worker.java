package io.raftkit.engine.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A thread that drains a multi-producer queue in batches. Producers never block. The thread
 * parks when idle and is unparked by the next {@link #submit}.
 *
 * @param <T> the work item type
 */
final class Worker<T> {
  private static final int MAX_BATCH = 4096;

  private final ConcurrentLinkedQueue<T> queue = new ConcurrentLinkedQueue<>();
  private final Consumer<List<T>> onBatch;
  private final Consumer<Throwable> onError;
  private final Thread thread;
  private volatile boolean running = true;
  /** Set by the thread before it parks; the first producer to clear it unparks it. */
  private final java.util.concurrent.atomic.AtomicBoolean parked = new java.util.concurrent.atomic.AtomicBoolean();

  Worker(final String name, final Consumer<List<T>> onBatch, final Consumer<Throwable> onError) {
    this.onBatch = onBatch;
    this.onError = onError;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void submit(final T item) {
    queue.offer(item);
    if (parked.get() && parked.compareAndSet(true, false)) {
      LockSupport.unpark(thread);
    }
  }

  /** Stops after the current batch and waits for the thread to end (unless called from it). */
  void stop() {
    running = false;
    LockSupport.unpark(thread);
    if (Thread.currentThread() != thread) {
      boolean interrupted = false;
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (final InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The items submitted but never processed (after {@link #stop()}). */
  List<T> drainRemaining() {
    final List<T> rest = new ArrayList<>();
    T item;
    while ((item = queue.poll()) != null) {
      rest.add(item);
    }
    return rest;
  }

  private void run() {
    final ArrayList<T> batch = new ArrayList<>();
    while (running) {
      T item;
      while (batch.size() < MAX_BATCH && (item = queue.poll()) != null) {
        batch.add(item);
      }
      if (batch.isEmpty()) {
        if (Idle.yieldWhileEmpty(queue)) {
          continue;
        }
        parked.set(true);
        if (queue.isEmpty() && running) {
          LockSupport.park(this);
        }
        parked.set(false);
        continue;
      }
      try {
        onBatch.accept(batch);
      } catch (final Throwable t) {
        running = false;
        onError.accept(t);
        if (t instanceof Error e && !(t instanceof AssertionError)) {
          throw e;
        }
      }
      batch.clear();
    }
  }
}
