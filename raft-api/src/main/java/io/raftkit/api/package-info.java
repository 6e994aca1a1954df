/**
 * Value types shared by every raftkit module ({@link io.raftkit.api.LogId}, {@link
 * io.raftkit.api.Entry}, {@link io.raftkit.api.Membership}, ...), the {@link io.raftkit.api.Raft}
 * handle and its builder, {@link io.raftkit.api.Config} and {@link io.raftkit.api.RaftMetrics}.
 *
 * <p>Node ids are positive {@code long}s; {@code 0} means "no node" wherever a node id may be
 * absent (an unknown leader, no vote). Log indexes start at 1; {@link io.raftkit.api.LogId#ZERO}
 * (term 0, index 0) stands before the first entry.
 */
package io.raftkit.api;
