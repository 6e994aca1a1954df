package io.raftkit.testkit.sim;

import io.raftkit.testkit.lincheck.CheckResult;

/**
 * What a run did.
 *
 * @param seed the seed
 * @param traceHash a hash of every event processed, in order: equal for equal seeds
 * @param events events processed
 * @param acknowledged client operations that completed
 * @param unknown client operations whose outcome is unknown (crash or timeout)
 * @param maxTerm the highest term reached
 * @param crashes node crashes injected
 * @param partitions partitions injected
 * @param membershipChanges membership changes the leader accepted
 * @param transfers leadership transfers the leader started
 * @param leaseReads reads served by the leader's lease
 * @param readIndexReads reads served by ReadIndex
 * @param clockJumps clock jumps injected
 * @param tornWrites torn records recovery found past the synced end and dropped
 * @param corruptionsDetected damaged synced records recovery found (the node was stopped)
 * @param linearizability the verdict on the client history
 */
public record SimResult(
    long seed,
    long traceHash,
    long events,
    long acknowledged,
    long unknown,
    long maxTerm,
    long crashes,
    long partitions,
    long membershipChanges,
    long transfers,
    long leaseReads,
    long readIndexReads,
    long clockJumps,
    long tornWrites,
    long corruptionsDetected,
    CheckResult linearizability) {}
