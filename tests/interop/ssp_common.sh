#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
#
# Sourced by the SimpleSAMLphp interop scripts (simplesamlphp/run.sh: our SP
# against SimpleSAMLphp as IdP; simplesamlphp_sp/run.sh: our IdP against
# SimpleSAMLphp as SP; simplesamlphp_sp_proxy/run.sh: our proxy against
# SimpleSAMLphp as SP), with the driver's name and the script's arguments:
#   source ssp_common.sh <driver name> "$@"    ("$@": <driver> <work dir>)
# Sets DRIVER, WORK, SSP_WWW, SECRETSALT and ADMINPASSWORD; sets up the work
# dir (one run at a time), the server stop trap, PASS/FAIL counters
# and small helpers (free_port, render, make_cert, and the steps every run
# shares: write_idp_metadata, start_ssp, run_driver, finish).

if [ $# -ne 3 ]; then
  echo "usage: $0 <$1> <work dir>" >&2
  exit 2
fi
DRIVER=$(realpath "$2")
WORK=$3
SSP_WWW=/usr/share/simplesamlphp/www

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

# SimpleSAMLphp's config.php (secretsalt, auth.adminpassword).
# shellcheck disable=SC2034 # read by the sourcing script
SECRETSALT=$(openssl rand -hex 16)
# shellcheck disable=SC2034 # read by the sourcing script
ADMINPASSWORD=$(openssl rand -hex 16)

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

# Ends a run that cannot go on: the counts so far, exit status 1.
give_up() {
  echo "$PASSED passed, $FAILED failed"
  exit 1
}

# Writes the driver's IdP metadata (`$DRIVER metadata BASE $DIR`) to
# $DIR/idp-metadata.xml; gives up unless it names entityID $2.
#   write_idp_metadata <IdP base URL> <entityID> <what, for the messages>
write_idp_metadata() {
  local base=$1 entityid=$2 what=$3
  if "$DRIVER" metadata "$base" "$DIR" >"$DIR/idp-metadata.xml.tmp" 2>"$DIR/out/driver-metadata.err" &&
    grep -q "entityID=\"$entityid\"" "$DIR/idp-metadata.xml.tmp"; then
    mv "$DIR/idp-metadata.xml.tmp" "$DIR/idp-metadata.xml"
    pass "setup: $what written by the driver"
  else
    fail "setup: driver could not produce $what"
    cat "$DIR/out/driver-metadata.err"
    give_up
  fi
}

# Starts SimpleSAMLphp under PHP's built-in server on a free loopback port
# (bounded retries: five ports, 30 s each). For each attempt it sets PORT and
# SSP_BASE, then calls the caller's function $1, which writes the
# configuration for that base URL and sets SSP_PROBE_URL, a metadata URL of
# SimpleSAMLphp's; SimpleSAMLphp is up once that URL answers (saved as $2).
# Gives up with the server logs otherwise; then checks that the metadata
# names entityID SSP_PROBE_URL.
#   start_ssp <configure function> <metadata file> <role: SP or IdP>
start_ssp() {
  local configure=$1 probe_out=$2 role=$3
  local up=no attempt log
  for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    # shellcheck disable=SC2034 # read by the caller's configure function and afterwards
    SSP_BASE="http://127.0.0.1:$PORT/"
    "$configure"

    SIMPLESAMLPHP_CONFIG_DIR=$DIR PHP_CLI_SERVER_WORKERS=4 TZ=UTC \
      setsid php -d opcache.enable=0 -d opcache.enable_cli=0 \
      -d session.save_path="$DIR/sessions" -d display_errors=stderr \
      -S "127.0.0.1:$PORT" -t "$SSP_WWW" \
      </dev/null >"$DIR/log/php-server.$attempt.log" 2>&1 9>&- &
    SERVER_PID=$!

    for _ in $(seq 1 150); do # 30 s
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        break
      fi
      if curl -fsS --max-time 2 -o "$probe_out" "$SSP_PROBE_URL" 2>/dev/null; then
        up=yes
        break
      fi
      sleep 0.2
    done
    if [ $up = yes ]; then
      break
    fi
    echo "note: SimpleSAMLphp did not come up on port $PORT (attempt $attempt)" >&2
    stop_server
  done

  if [ "$up" != yes ]; then
    fail "setup: SimpleSAMLphp did not answer ${SSP_PROBE_URL}"
    for log in "$DIR"/log/*; do
      echo "--- $log"
      tail -n 40 "$log"
    done
    give_up
  fi
  if grep -q "entityID=\"$SSP_PROBE_URL\"" "$probe_out"; then
    pass "setup: SimpleSAMLphp $role metadata at $SSP_PROBE_URL"
  else
    fail "setup: $role metadata does not name entityID $SSP_PROBE_URL"
  fi
}

# Runs `$DRIVER ARGS...` with its output in LOG (and on stdout), adds its
# PASS/FAIL lines to the counts, and fails when its exit status and its
# report disagree or it reported nothing. PREFIX starts those messages.
#   run_driver <prefix> <log> <driver arguments...>
run_driver() {
  local prefix=$1 log=$2
  shift 2
  local rc=0 p f
  "$DRIVER" "$@" >"$log" 2>&1 || rc=$?
  cat "$log"
  p=$(grep -c '^PASS ' "$log" || true)
  f=$(grep -c '^FAIL ' "$log" || true)
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    fail "${prefix}driver exited with status $rc without reporting a failure"
  elif [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then
    fail "${prefix}driver reported failures but exited 0"
  elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    fail "${prefix}driver reported no checks"
  fi
}

# The end of a run: SimpleSAMLphp's log when anything failed, the counts,
# and the exit status (0 only when nothing failed).
finish() {
  if [ "$FAILED" -ne 0 ]; then
    echo "--- SimpleSAMLphp log (last 60 lines)"
    tail -n 60 "$DIR/log/simplesamlphp.log" 2>/dev/null || true
    echo "--- work dir: $DIR"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && exit 0
  exit 1
}
