/**
 * The pure Raft core: a single-threaded state machine that takes events and emits {@link
 * io.raftkit.engine.core.Command}s.
 *
 * <p>It reads no clock, starts no thread, does no IO and draws randomness only from the generator
 * it is given: the same events produce the same commands, which is what lets the simulator replay
 * any run from its seed. Commands that depend on durable state carry their precondition ({@link
 * io.raftkit.engine.core.Command#awaitIo()}): a vote reply waits for the vote to be saved, an
 * append reply for the entries to be synced.
 *
 * <p>References in comments are to the Raft paper (Ongaro and Ousterhout, 2014) by section, and to
 * Ongaro's thesis (2014) as "thesis §".
 */
package io.raftkit.engine.core;
