#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Builds and runs bench_validate (interkonto vs Lasso 2.8.1, SAML Response
# validation on one core). Prints rates and ratios; never fails on a number.
#
#   tests/bench/run.sh                 default: 5 rounds x 2 s per variant
#   tests/bench/run.sh --quick         1 round x 0.5 s (smoke run)
#   tests/bench/run.sh --rounds 9      any bench_validate option passes through
#
# Environment:
#   BENCH_CPU=N        CPU to pin to (default 0; -1: no pinning)
#   BENCH_BUILD_DIR=D  build in D instead of the `default` preset's build/default
#   BENCH_NO_OPENSSL_SPEED=1  skip `openssl speed`
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cpu=${BENCH_CPU:-0}

if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
  cmake -S "$root" -B "$BENCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTERKONTO_BUILD_BENCH=ON >/dev/null
  cmake --build "$BENCH_BUILD_DIR" --target bench_validate
  bin=$BENCH_BUILD_DIR/tests/bench/bench_validate
else
  (cd "$root" && cmake --preset default >/dev/null && cmake --build --preset default --target bench_validate)
  bin=$root/build/default/tests/bench/bench_validate
fi

# `openssl speed` RSA-2048 verify/s on the same CPU, as a second baseline
# (bench_validate measures EVP_PKEY_verify in-process as well).
speed_args=()
if [[ -z "${BENCH_NO_OPENSSL_SPEED:-}" ]] && command -v openssl >/dev/null; then
  pin=()
  if [[ "$cpu" != "-1" ]] && command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi
  verify=$("${pin[@]}" openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $NF }' || true)
  if [[ -n "$verify" ]]; then
    echo "openssl speed -seconds 3 rsa2048: $verify verify/s (CPU time)"
    speed_args=(--openssl-speed-verify "$verify")
  fi
fi

exec "$bin" --cpu "$cpu" "${speed_args[@]}" "$@"
