/**
 * The RPCs Raft nodes exchange. Transports carry {@link io.raftkit.api.message.RaftRequest}s and
 * {@link io.raftkit.api.message.RaftResponse}s; the engine never sees bytes.
 *
 * <p>Each sealed root has a {@code Kind} enum so that code can dispatch with an exhaustive switch
 * expression (pattern matching in switch is only a preview in Java 17).
 */
package io.raftkit.api.message;
