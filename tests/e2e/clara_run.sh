#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Runs the Clara journey's browser test (ctest entry clara_e2e):
#   clara_run.sh --run-sh examples/clara/run.sh --build-dir BUILD \
#                --workdir DIR --artifacts DIR
# The binaries come from INTERKONTO_CLI, INTERKONTO_CLARA,
# INTERKONTO_CLARA_JOURNEY and INTERKONTO_METADATA_SERVER (as run.sh takes
# them). Needs Debian's chromium (/usr/bin/chromium), Node.js >= 20 with npm
# and the openssl command; tools/setup.sh installs them and
# tests/e2e/node_modules. Exit 77 (skip) only when the loopback addresses
# 127.0.0.2-6 cannot be bound.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

chromium=${INTERKONTO_E2E_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "clara_run.sh: $chromium not found: install Debian's chromium (bash tools/setup.sh)" >&2
  exit 1
fi
for tool in node openssl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "clara_run.sh: $tool not found (bash tools/setup.sh)" >&2
    exit 1
  fi
done
if ! /usr/bin/python3 - <<'PY' 2>/dev/null; then
import socket
for a in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"):
    with socket.socket() as s:
        s.bind((a, 0))
PY
  echo "SKIP: cannot bind the loopback addresses 127.0.0.2-6"
  exit 77
fi
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ ! -f "$here/node_modules/axe-core/axe.min.js" ]; then
  echo "clara_run.sh: tests/e2e/node_modules missing: npm ci"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --ignore-scripts)
fi

# The test stops run.sh and checks DIR/run.pids itself; should node die
# without doing so, nothing of the run is left behind either.
workdir=
prev=
for arg in "$@"; do
  [ "$prev" = --workdir ] && workdir=$arg
  prev=$arg
done
leftovers() {
  [ -n "$workdir" ] && [ -f "$workdir/run.pids" ] || return 0
  local name pid
  while read -r name pid; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q interkonto "/proc/$pid/cmdline" 2>/dev/null; then
      echo "clara_run.sh: $name (pid $pid) still running; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done <"$workdir/run.pids"
}
trap leftovers EXIT

cd "$here"
node "$here/clara.test.mjs" "$@"
