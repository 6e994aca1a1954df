package io.raftkit.api;

/**
 * The outcome of a committed and applied write.
 *
 * @param logId where the write sits in the log
 * @param response what the state machine returned when it applied the write
 * @param <R> the state machine's result type
 */
public record WriteResult<R>(LogId logId, R response) {}
