/**
 * The key-value service: the state machine ({@link io.raftkit.examples.kv.KvStateMachine}) and its
 * command codec, the HTTP/JSON API on Netty's HTTP codec, a tiny JSON encoder and strict flat
 * parser, the command line and the demo.
 *
 * <p>Linearizable and lease reads use {@link io.raftkit.api.Raft#ensureLinearizable} on the leader
 * and then read the local state machine; learners and voter changes (joint consensus) are admin
 * endpoints. What the engine does not support yet (snapshots, reads served by followers) is not
 * faked: the snapshot endpoint answers 501, and a follower redirects linearizable and lease reads
 * to the leader.
 *
 * <p>Security ({@link io.raftkit.examples.kv.TlsSettings}): mutual TLS between the nodes (the
 * netty transport's TLS options) and HTTPS, optionally requiring client certificates; a data
 * directory of another node or cluster is refused by the storage providers at start.
 */
package io.raftkit.examples.kv;
