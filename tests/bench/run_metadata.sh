#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Builds and runs bench_metadata (signed federation aggregates of 1,000 /
# 5,000 / 10,000 entities: interkonto load_aggregate vs Lasso 2.8.1
# lasso_server_load_metadata, memory, lookups, refresh, logins during a
# refresh). Prints numbers and ratios; never fails on a number.
#
#   tests/bench/run_metadata.sh                  default: 3 reps, about 3-4 minutes
#   tests/bench/run_metadata.sh --quick          1,000 and 5,000 entities, 1 rep (smoke run)
#   tests/bench/run_metadata.sh --lasso-default  also untuned Lasso for 1,000 entities (~45 s more)
#   any other bench_metadata option passes through (--help lists them)
#
# Environment:
#   BENCH_CPU=N        CPU to pin to (default 0; -1: no pinning)
#   BENCH_CPU2=N       second CPU for the two-core login test (default 1; -1: skip)
#   BENCH_BUILD_DIR=D  build in D instead of the `default` preset's build/default
#   BENCH_WORKDIR=D    where the generated aggregates are cached
#                      (default ${TMPDIR:-/tmp}/interkonto-bench-metadata, ~200 MB)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cpu=${BENCH_CPU:-0}
cpu2=${BENCH_CPU2:-1}
workdir=${BENCH_WORKDIR:-${TMPDIR:-/tmp}/interkonto-bench-metadata}

if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
  cmake -S "$root" -B "$BENCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTERKONTO_BUILD_BENCH=ON >/dev/null
  cmake --build "$BENCH_BUILD_DIR" --target bench_metadata
  bin=$BENCH_BUILD_DIR/tests/bench/bench_metadata
else
  (cd "$root" && cmake --preset default >/dev/null && cmake --build --preset default --target bench_metadata)
  bin=$root/build/default/tests/bench/bench_metadata
fi

exec "$bin" --cpu "$cpu" --cpu2 "$cpu2" --workdir "$workdir" "$@"
