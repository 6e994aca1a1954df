/**
 * The storage conformance suite (TCK): {@link io.raftkit.testkit.storage.StorageTck}, which a
 * storage provider's tests extend to prove that the provider keeps the {@link
 * io.raftkit.api.spi.RaftStorage} contract, and {@link io.raftkit.testkit.storage.StorageCrashTck},
 * which kills a child JVM that appends and syncs, and checks that nothing synced was lost. {@link
 * io.raftkit.testkit.storage.DataDirIdentityTck} is for providers that keep a node's data in a
 * directory: one of another node id or cluster must be refused ({@link
 * io.raftkit.api.spi.DataDirIdentity}).
 *
 * <p>{@link io.raftkit.testkit.storage.TckEntries} builds the entries both suites write: every
 * payload is a function of its log id, so any entry read back can be checked on its own.
 */
package io.raftkit.testkit.storage;
