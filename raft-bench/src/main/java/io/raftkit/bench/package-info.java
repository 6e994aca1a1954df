/**
 * The {@code raft-bench} command ({@link io.raftkit.bench.RaftBench}): a raftkit cluster in one
 * JVM under closed-loop asynchronous clients, with a per-second timeline and HdrHistogram latency
 * percentiles. Runs from the class path; not a library.
 */
package io.raftkit.bench;
