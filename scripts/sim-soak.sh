#!/usr/bin/env bash
# Long soak of the deterministic simulator: scripts/sim-soak.sh --seeds N | --minutes M [--first-seed S]
# Prints seeds/s at the end; a failure prints the seed and the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
props=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) props+=("-Draftkit.sim.seeds=$2"); shift 2 ;;
    --minutes) props+=("-Draftkit.sim.minutes=$2"); shift 2 ;;
    --first-seed) props+=("-Draftkit.sim.firstSeed=$2"); shift 2 ;;
    *) echo "unknown option: $1 (use --seeds N, --minutes M, --first-seed S)" >&2; exit 2 ;;
  esac
done
exec ./mvnw -B verify -pl raft-testkit -am \
  -Dtest='SimulationTest#shouldStaySafeAndLinearizableUnderFaultsForEverySeed' \
  -Dsurefire.failIfNoSpecifiedTests=false -Dtest.forkTimeout=0 "${props[@]}"
