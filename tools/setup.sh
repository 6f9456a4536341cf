#!/usr/bin/env bash
# Installs every Debian package interkonto needs to build, test and run its
# demo on a fresh Debian 12 machine. Idempotent; needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format git ca-certificates curl
  # libraries the library links
  liblasso3-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev zlib1g-dev
  libglib2.0-dev libcurl4-openssl-dev
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
