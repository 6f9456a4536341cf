#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Runs the discovery page's browser test (ctest entry discovery_e2e):
#   run.sh <discovery_server binary>
# Needs Debian's chromium (/usr/bin/chromium) and Node.js >= 20 with npm;
# tools/setup.sh installs both the package and tests/e2e/node_modules.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
server=${1:?usage: run.sh <discovery_server binary>}

chromium=${INTERKONTO_E2E_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "run.sh: $chromium not found: install Debian's chromium (bash tools/setup.sh)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: node (Node.js >= 20) not found" >&2
  exit 1
fi
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ ! -f "$here/node_modules/axe-core/axe.min.js" ]; then
  echo "run.sh: tests/e2e/node_modules missing: npm ci"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --ignore-scripts)
fi
cd "$here"
exec node "$here/discovery.test.mjs" "$server"
