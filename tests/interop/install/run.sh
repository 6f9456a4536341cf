#!/usr/bin/env bash
# Installs the built library into a scratch prefix and builds a consumer
# twice: with find_package(interkonto) and with pkg-config.
set -euo pipefail
build=$1
work=$2
src=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
out=$("$work/cmake/consumer")
[ "$out" = "STORK-QAA-Level-3 replayed" ] || { echo "find_package consumer printed '$out'"; echo "0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC2046
g++ -std=c++20 "$src/main.cpp" -o "$work/pc-consumer" $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs interkonto)
out=$("$work/pc-consumer")
[ "$out" = "STORK-QAA-Level-3 replayed" ] || { echo "pkg-config consumer printed '$out'"; echo "1 passed, 1 failed"; exit 1; }
echo "2 passed, 0 failed"
