/**
 * The key-value service: the state machine ({@link io.raftkit.examples.kv.KvStateMachine}) and its
 * command codec, the HTTP/JSON API on Netty's HTTP codec, a tiny JSON encoder and strict flat
 * parser, the command line and the demo.
 *
 * <p>Linearizable and lease reads use {@link io.raftkit.api.Raft#ensureLinearizable} on any node
 * (a follower or learner gets its read index from the leader) and then read the local state
 * machine; learners, voter changes (joint consensus), leadership transfer and snapshots are admin
 * endpoints. The state machine snapshots its map (copied on the apply thread, written on the
 * snapshot thread) and is restored from the latest snapshot on restart.
 *
 * <p>Security ({@link io.raftkit.examples.kv.TlsSettings}): mutual TLS between the nodes (the
 * netty transport's TLS options) and HTTPS, optionally requiring client certificates; a data
 * directory of another node or cluster is refused by the storage providers at start.
 */
package io.raftkit.examples.kv;
