#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the whole test
# suite: formatting check, the full suite on the `default` and `asan`
# builds, the concurrency tests on `tsan`. Each phase is timed.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
declare -a SUMMARY=()

phase() {
  local name=$1
  shift
  local start=$SECONDS
  echo "==== phase: $name"
  "$@"
  local took=$((SECONDS - start))
  SUMMARY+=("$(printf '%-22s %5ds' "$name" "$took")")
  echo "==== phase: $name done in ${took}s"
}

format_check() {
  local files
  files=$(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || find include lib tools tests examples -name '*.[ch]pp')
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
}

build() {
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$JOBS"
}

run_tests() {
  local preset=$1
  shift
  ctest --preset "$preset" -j 1 --timeout 900 "$@"
}

phase setup bash tools/setup.sh
phase format format_check
phase build-default build default
phase test-default run_tests default
phase build-asan build asan
phase test-asan run_tests asan
phase build-tsan build tsan
phase test-tsan run_tests tsan

echo
echo "==== timings"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
