/**
 * The in-JVM transport {@code "local"}. Not exported: {@link
 * io.raftkit.testkit.local.LocalTransportProvider} is found with {@link java.util.ServiceLoader},
 * and tests control the network through {@link io.raftkit.testkit.LocalNetwork}.
 *
 * <p>A {@code Network} maps bind addresses to the transports registered in it and holds the
 * faults (cut links, isolated nodes, delays); one daemon scheduler thread per network carries
 * delayed messages and RPC timeouts.
 */
package io.raftkit.testkit.local;
