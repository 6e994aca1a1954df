/**
 * The key-value service: the state machine ({@link io.raftkit.examples.kv.KvStateMachine}) and its
 * command codec, the HTTP/JSON API on Netty's HTTP codec, a tiny JSON encoder and strict flat
 * parser, the command line and the demo.
 *
 * <p>What the engine does not support yet (membership changes after {@code initialize}, read
 * index and lease reads, leadership transfer, snapshots) is not faked: linearizable reads go
 * through the log, and the admin endpoints for the missing features answer 501.
 */
package io.raftkit.examples.kv;
