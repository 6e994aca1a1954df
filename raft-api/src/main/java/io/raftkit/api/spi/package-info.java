/**
 * The service-provider interfaces: what storage and transport providers and applications
 * implement.
 *
 * <ul>
 *   <li>{@link io.raftkit.api.spi.StorageProvider}: opens a node's durable state ({@link
 *       io.raftkit.api.spi.RaftStorage}: the log, the vote, snapshots);
 *   <li>{@link io.raftkit.api.spi.TransportProvider}: creates the node's {@link
 *       io.raftkit.api.spi.Transport};
 *   <li>{@link io.raftkit.api.spi.StateMachine}: implemented by the application;
 *   <li>{@link io.raftkit.api.spi.RaftEngineProvider}: implemented by raft-engine.
 * </ul>
 *
 * <p>{@link io.raftkit.api.spi.DataDirIdentity} helps storage providers that keep a node's data in
 * a directory refuse one that belongs to another node or cluster.
 *
 * <p>Providers are found with {@link java.util.ServiceLoader} by their {@code name()} ({@link
 * io.raftkit.api.spi.Providers}); a provider module declares {@code provides ... with ...} and
 * ships a {@code META-INF/services} file for class-path users.
 */
package io.raftkit.api.spi;
