/**
 * The transport conformance suite: {@link io.raftkit.testkit.transport.TransportTck}, an abstract
 * JUnit 5 class that every transport provider's tests extend to prove the contract of {@link
 * io.raftkit.api.spi.Transport} (delivery of every RPC, many requests in flight, failures as
 * {@link io.raftkit.api.error.UnreachableException}, close as {@link
 * io.raftkit.api.error.ShutdownException}, refusal of other clusters).
 */
package io.raftkit.testkit.transport;
