#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Builds and runs bench_proxy: CPU per complete proxy login in-process
# (portal request -> upstream request -> upstream response -> portal
# response), RSA-3072 keys, against the floor of its six public-key
# operations done with OpenSSL in the same run. Prints numbers and ratios;
# never fails on a number.
#
#   tests/bench/run_proxy.sh                     default: 7 rounds x 150 logins per variant (~1 minute)
#   tests/bench/run_proxy.sh --quick             2 rounds x 15 logins (smoke run, ~10 s)
#   tests/bench/run_proxy.sh --request-sig pss   AuthnRequests signed with RSASSA-PSS instead of rsa-sha256
#   any other bench_proxy option passes through (--help lists them)
#
# Environment:
#   BENCH_CPU=N        CPU to pin to (default 0; -1: no pinning)
#   BENCH_BUILD_DIR=D  build in D instead of the `default` preset's build/default
#   BENCH_NO_OPENSSL_SPEED=1  skip `openssl speed rsa3072`
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cpu=${BENCH_CPU:-0}

if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
  cmake -S "$root" -B "$BENCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTERKONTO_BUILD_BENCH=ON >/dev/null
  cmake --build "$BENCH_BUILD_DIR" --target bench_proxy
  bin=$BENCH_BUILD_DIR/tests/bench/bench_proxy
else
  (cd "$root" && cmake --preset default >/dev/null && cmake --build --preset default --target bench_proxy)
  bin=$root/build/default/tests/bench/bench_proxy
fi

pin=()
if [[ "$cpu" != "-1" ]] && command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi

# `openssl speed` RSA-3072 on the same CPU, for reference only (a separate
# process; bench_proxy measures its floor in-process).
if [[ -z "${BENCH_NO_OPENSSL_SPEED:-}" ]] && command -v openssl >/dev/null; then
  line=$("${pin[@]}" openssl speed -seconds 2 rsa3072 2>/dev/null | awk '/^rsa 3072 bits/' || true)
  if [[ -n "$line" ]]; then
    # rsa 3072 bits <sign s> <verify s> <sign/s> <verify/s>
    read -r _ _ _ sign_s verify_s _ _ <<<"$line"
    awk -v s="$sign_s" -v v="$verify_s" \
      'BEGIN { printf "openssl speed -seconds 2 rsa3072 (separate process): sign %.0f us, verify %.1f us\n", s * 1e6, v * 1e6 }'
  fi
fi

exec "${pin[@]}" "$bin" --cpu "$cpu" "$@"
