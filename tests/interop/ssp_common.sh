#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
#
# Sourced by the SimpleSAMLphp interop scripts (simplesamlphp/run.sh: our SP
# against SimpleSAMLphp as IdP; simplesamlphp_sp/run.sh: our IdP against
# SimpleSAMLphp as SP). Expects DRIVER, WORK and SSP_WWW to be set; sets up
# the work dir (one run at a time), the server stop trap, PASS/FAIL counters
# and small helpers (free_port, render, make_cert).

for tool in php openssl python3 curl setsid flock; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
[ -d "$SSP_WWW" ] || { echo "FAIL: $SSP_WWW missing (Debian package simplesamlphp)" >&2; exit 1; }
[ -x "$DRIVER" ] || { echo "FAIL: driver $DRIVER not executable" >&2; exit 1; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
# One run at a time per work dir; each run replaces the previous one's files.
exec 9>"$WORK/.lock"
flock -w 120 9 || { echo "FAIL: $WORK is in use by another run" >&2; exit 1; }
rm -rf "$WORK"/run.*
DIR=$(mktemp -d "$WORK/run.XXXXXX")
mkdir -p "$DIR"/{cert,log,data,tmp,sessions,metadata,out}

SERVER_PID=""

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    # php was started by setsid as leader of its own process group (a
    # background child of this non-interactive script is no group leader, so
    # setsid does not fork): the group holds the server and its workers.
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 -- "-$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Fills the @NAME@ placeholders of a template from NAME=value arguments
# (values must not contain '|', '&' or '\\').
render() {
  local template=$1 out=$2
  shift 2
  local args=(-e '')
  local kv
  for kv in "$@"; do
    args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
  done
  sed "${args[@]}" "$template" >"$out.tmp"
  if grep -q '@[A-Z_]*@' "$out.tmp"; then
    echo "FAIL: unfilled placeholder in $out" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
}

make_cert() {
  openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 7 \
    -subj "/CN=$1" -keyout "$DIR/cert/$2.key" -out "$DIR/cert/$2.crt" 2>/dev/null
}
