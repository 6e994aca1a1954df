#!/usr/bin/env bash
# Runs the raft-bench cluster benchmark (or, with "jmh" as the first argument, the JMH
# micro-benchmarks) from raft-bench/target, building it first if it is missing.
#
#   scripts/raft-bench.sh --transport netty --storage file --clients 128 --seconds 15 --warmup 30
#   scripts/raft-bench.sh jmh EngineAppendBenchmark
#
# JAVA_OPTS replaces the JVM flags (default: -Xms2g -Xmx6g for the cluster benchmark); RAFT_BENCH_CLASSPATH adds jars, such as a
# provider that is not a dependency of raft-bench.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$root/raft-bench/target/raft-bench.jar"
if [[ ! -f "$jar" ]]; then
  (cd "$root" && ./mvnw -B -q -pl raft-bench -am package -DskipTests)
fi
main=io.raftkit.bench.RaftBench
heap="-Xms2g -Xmx6g"
if [[ "${1:-}" == "jmh" ]]; then
  # JMH's forks inherit this JVM's flags: no heap flags here, the benchmarks choose their own.
  main=org.openjdk.jmh.Main
  heap=""
  shift
fi
# Agrona (the aeron transport) needs jdk.internal.misc on Java 17; harmless without it.
exec java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED ${JAVA_OPTS-$heap} \
  -cp "$jar${RAFT_BENCH_CLASSPATH:+:$RAFT_BENCH_CLASSPATH}" "$main" "$@"
