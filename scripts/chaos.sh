#!/usr/bin/env bash
# The long chaos run of raft-kv: 5 serve JVMs, kill -9 / SIGSTOP / partitions through per-link TCP
# proxies / voter removals / snapshot requests for M minutes, then the verdicts (linearizable, no
# acknowledged write lost, equal digests) and a report (report.json + report.html).
#
#   scripts/chaos.sh --minutes 30 [--seed S] [--clients N] [--out DIR]
#
# Builds examples/kv and what it needs (test classes included) with the Maven Wrapper, then runs
# io.raftkit.examples.kv.chaos.ChaosMain on the test class path. CHAOS_NO_BUILD=1 skips the build;
# CHAOS_MAVEN_ARGS adds Maven flags (for example -o).
# Exit 0 if every verdict holds, 1 if not (the seed and the log directory are printed), 2 for a bad
# option. The short version runs in ./mvnw verify (ChaosTest).
set -euo pipefail
cd "$(dirname "$0")/.."
cpfile=examples/kv/target/chaos-classpath.txt
if [ -z "${CHAOS_NO_BUILD:-}" ]; then
  # shellcheck disable=SC2086 # CHAOS_MAVEN_ARGS (for example -o) is split on purpose
  ./mvnw -B -q ${CHAOS_MAVEN_ARGS:-} -pl examples/kv -am test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/chaos-classpath.txt >&2
fi
if [ ! -f "$cpfile" ]; then
  echo "chaos: $cpfile is missing: run without CHAOS_NO_BUILD first" >&2
  exit 2
fi
java_bin="java"
if [ -n "${JAVA_HOME:-}" ]; then
  java_bin="$JAVA_HOME/bin/java"
fi
# Run from a private copy of the class directories: a build of the same tree during a long run
# (recompiling target/classes) must not pull classes from under it.
snap="$(mktemp -d "${TMPDIR:-/tmp}/raft-kv-chaos-classes.XXXXXX")"
trap 'rm -rf "$snap"' EXIT
entries=()
n=0
IFS=: read -r -a parts <<< "examples/kv/target/test-classes:examples/kv/target/classes:$(cat "$cpfile")"
for p in "${parts[@]}"; do
  if [ -d "$p" ]; then
    n=$((n + 1))
    cp -r "$p" "$snap/$n"
    entries+=("$snap/$n")
  else
    entries+=("$p")
  fi
done
classpath="$(IFS=:; echo "${entries[*]}")"
"$java_bin" -Xmx2g -cp "$classpath" io.raftkit.examples.kv.chaos.ChaosMain "$@"
