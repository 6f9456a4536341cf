#!/usr/bin/env bash
# Builds interkonto and runs the in-process login demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default --target interkonto_login_demo -j "$(nproc)"
exec ./build/default/examples/interkonto_login_demo
