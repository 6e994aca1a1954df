package io.raftkit.bench.jmh;

import org.openjdk.jmh.annotations.Fork;

/**
 * {@link WireCodecBenchmark}'s methods with raft-wire's hand-written append codec turned off
 * ({@code -Draftkit.wire.noFastAppend=true}): the appends go through the generated protobuf
 * classes, as before that codec existed. The bytes are the same; only the cost differs.
 */
@Fork(value = 1, jvmArgsAppend = "-Draftkit.wire.noFastAppend=true")
public class WireCodecGeneratedBenchmark extends WireCodecBenchmark {}
