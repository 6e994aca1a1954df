/**
 * The runtime that drives the pure core with threads, timers and IO.
 *
 * <p>Each node runs three threads of its own:
 *
 * <ul>
 *   <li><b>engine</b>: drains the node's event queue (client writes, inbound RPCs, responses, IO
 *       completions) in batches, runs the {@link io.raftkit.engine.core.Engine}, and dispatches its
 *       commands. It is the only thread that touches the engine, the entry cache and the pending
 *       writes.
 *   <li><b>log writer</b>: executes log IO in order with group commit: every append, truncation
 *       and vote queued since the last sync is written, then one {@code sync} covers them all, and
 *       the highest IO sequence done is reported back.
 *   <li><b>apply</b>: applies committed entries to the state machine in order and completes the
 *       client futures with its results.
 * </ul>
 *
 * <p>Threads wait by parking (no busy spin), since a 2-core machine may host several nodes.
 * Commands whose precondition ({@link io.raftkit.engine.core.Command#awaitIo()}) is not yet met are
 * held back in order until the log writer reports the IO done.
 */
package io.raftkit.engine.runtime;
