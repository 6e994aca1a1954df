/**
 * The errors raftkit reports. Every one extends {@link io.raftkit.api.error.RaftException} and
 * carries a stable {@link io.raftkit.api.error.ErrorCode}.
 *
 * <p>Three tiers: expected outcomes are return values; recoverable client errors carry a hint
 * (a {@link io.raftkit.api.error.NotLeaderException} names the leader); fatal errors ({@link
 * io.raftkit.api.error.FatalStorageException}) stop the node.
 */
package io.raftkit.api.error;
