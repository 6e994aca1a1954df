/**
 * The key-value service: the state machine ({@link io.raftkit.examples.kv.KvStateMachine}) and its
 * command codec, the HTTP/JSON API on Netty's HTTP codec, a tiny JSON encoder and strict flat
 * parser, the command line and the demo.
 *
 * <p>Linearizable and lease reads use {@link io.raftkit.api.Raft#ensureLinearizable} on the leader
 * and then read the local state machine; learners and voter changes (joint consensus) are admin
 * endpoints. What the engine does not support yet (leadership transfer, snapshots, reads served
 * by followers) is not faked: those admin endpoints answer 501, and a follower redirects
 * linearizable and lease reads to the leader.
 */
package io.raftkit.examples.kv;
