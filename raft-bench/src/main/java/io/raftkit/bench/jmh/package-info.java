/**
 * JMH micro-benchmarks: the engine's append round through the pure core, and the wire codec.
 * Run them with {@code java -cp raft-bench/target/raft-bench.jar org.openjdk.jmh.Main}.
 */
package io.raftkit.bench.jmh;
