#!/usr/bin/env bash
# Installs every Debian package interkonto needs to build, test and run its
# demo on a fresh Debian 12 machine. Idempotent; needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format git ca-certificates curl
  # libraries the library links
  liblasso3-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev zlib1g-dev
  libglib2.0-dev libcurl4-openssl-dev libicu-dev
  # header-only / tools
  libcli11-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev catch2
  # HTTP server of the metadata server example (header + shared library)
  libcpp-httplib-dev
  # local copies of the SAML / XML-DSig / XML-Enc schemas
  opensaml-schemas xmltooling-schemas
  # independent signer for test vectors
  python3 python3-lxml python3-cryptography
  # the real SimpleSAMLphp peer (php8.2-cgi keeps apt from pulling mod_php)
  simplesamlphp php-cli php-xml php-mbstring php8.2-cgi
  # openssl CLI for the benchmark baseline
  openssl
  # headless browser for the discovery page's e2e test (tests/e2e), and a
  # real font so that axe-core's contrast checks see rendered text
  chromium fonts-dejavu-core
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# npm packages of the browser test (tests/e2e: playwright-core, axe-core),
# exactly as package-lock.json pins them, from the machine's Node.js/npm
# (not Debian's). playwright-core has no install script; browsers are never
# downloaded (the test drives Debian's /usr/bin/chromium). Reinstalled when
# node_modules is missing or package-lock.json changed.
E2E_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
if [ -f "$E2E_DIR/package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm (Node.js >= 20) is required for tests/e2e" >&2
    exit 1
  fi
  lock_sum=$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)
  stamp="$E2E_DIR/node_modules/.interkonto-lock.sha256"
  if [ ! -d "$E2E_DIR/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    echo "setup: npm ci in tests/e2e"
    (cd "$E2E_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --ignore-scripts)
    echo "$lock_sum" >"$stamp"
  else
    echo "setup: tests/e2e node_modules up to date"
  fi
fi
