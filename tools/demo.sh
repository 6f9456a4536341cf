#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Sets up a fresh Debian 12 machine, builds what the Clara demo needs (the
# interkonto CLI, the metadata server, interkonto-clara and the headless
# journey client) and starts the five-party demo in the foreground
# (examples/clara/run.sh; Ctrl-C stops all five). Arguments go to run.sh:
#   bash tools/demo.sh              # the demo, for a browser
#   bash tools/demo.sh --journey    # Clara's journey once, headless, each step timed
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target \
  interkonto_cli interkonto_metadata_server interkonto_clara interkonto_clara_journey
exec bash examples/clara/run.sh --build-dir build/default "$@"
