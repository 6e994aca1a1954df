/**
 * Test support for raftkit users and raftkit itself.
 *
 * <ul>
 *   <li>{@link io.raftkit.testkit.LocalNetwork}: a named in-JVM network for the transport {@code
 *       "local"}, with links that can be cut, healed and delayed;
 *   <li>{@link io.raftkit.testkit.TestCluster}: starts, stops and restarts the nodes of a cluster
 *       in one JVM and waits for a leader;
 *   <li>{@link io.raftkit.testkit.DigestStateMachine}: folds applied commands into a digest, so that
 *       replicas can be compared in one number.
 * </ul>
 */
package io.raftkit.testkit;
