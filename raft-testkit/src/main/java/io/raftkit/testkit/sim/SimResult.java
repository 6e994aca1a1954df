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
 * @param snapshotsBuilt snapshots built and made durable (by the policy or a trigger)
 * @param snapshotsStreamed snapshots a leader streamed to a follower to the end
 * @param snapshotsInstalled snapshots a follower received and installed in place of its state
 *     machine and log prefix
 * @param logPurges log purges executed (after a snapshot, or requested)
 * @param snapshotsRestored restarts that restored the state machine from a snapshot
 * @param crashesWhileReceivingSnapshot crashes of a node with a half-received snapshot (lost)
 * @param caughtUpAfterReceiveCrash nodes that crashed with a half-received snapshot and, after
 *     healing, applied up to the leader's commit index (every running member must)
 * @param snapshotStatesChecked snapshots whose state was checked against what the nodes applied
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
    long snapshotsBuilt,
    long snapshotsStreamed,
    long snapshotsInstalled,
    long logPurges,
    long snapshotsRestored,
    long crashesWhileReceivingSnapshot,
    long caughtUpAfterReceiveCrash,
    long snapshotStatesChecked,
    CheckResult linearizability) {}
