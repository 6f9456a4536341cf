#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
#
# Interop test: a real SimpleSAMLphp 1.19 SP (Debian package) on loopback
# accepts the assertions issued by interkonto's IdentityProvider.
#
#   run.sh <path to ssp_sp_interop_driver> <work dir>
#
# Writes interkonto's IdP metadata (from the driver) into a fresh
# SIMPLESAMLPHP_CONFIG_DIR below <work dir>, starts SimpleSAMLphp as SP
# (signed AuthnRequests with RSA-SHA256, signed and encrypted assertions
# required) under PHP's built-in server, then lets the driver play browser
# and IdP. Prints "N passed, M failed"; exits non-zero when anything failed.
# The PHP server's process group is always killed on exit.

set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <ssp_sp_interop_driver> <work dir>" >&2
  exit 2
fi

DRIVER=$(realpath "$1")
WORK=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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

# ---- keys: our IdP's, a foreign signer's, and SimpleSAMLphp's SP key ----
make_cert() {
  openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 7 \
    -subj "/CN=$1" -keyout "$DIR/cert/$2.key" -out "$DIR/cert/$2.crt" 2>/dev/null
}
make_cert "interop interkonto IdP" idp
make_cert "interop foreign signer" foreign
make_cert "interop SimpleSAMLphp SP" sp

SECRETSALT=$(openssl rand -hex 16)
ADMINPASSWORD=$(openssl rand -hex 16)

# Our IdP's base URL on loopback: nothing listens there, the driver takes
# the AuthnRequest from SimpleSAMLphp's redirect in-process.
IDP_BASE="http://127.0.0.1:$(free_port)"
IDP_ENTITYID="$IDP_BASE/idp"

if "$DRIVER" metadata "$IDP_BASE" "$DIR" >"$DIR/idp-metadata.xml.tmp" 2>"$DIR/out/driver-metadata.err" &&
  grep -q "entityID=\"$IDP_ENTITYID\"" "$DIR/idp-metadata.xml.tmp"; then
  mv "$DIR/idp-metadata.xml.tmp" "$DIR/idp-metadata.xml"
  pass "setup: IdP metadata written by the driver"
else
  fail "setup: driver could not produce the IdP metadata"
  cat "$DIR/out/driver-metadata.err"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

# ---- start SimpleSAMLphp on a free loopback port (bounded retries) ----
up=no
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  SSP_BASE="http://127.0.0.1:$PORT/"
  SP_ENTITYID="${SSP_BASE}module.php/saml/sp/metadata.php/default-sp"
  render "$HERE/config.php.in" "$DIR/config.php" \
    "BASEURL=$SSP_BASE" "DIR=$DIR" "SECRETSALT=$SECRETSALT" "ADMINPASSWORD=$ADMINPASSWORD"
  render "$HERE/authsources.php.in" "$DIR/authsources.php" \
    "DIR=$DIR" "SP_ENTITYID=$SP_ENTITYID" "IDP_ENTITYID=$IDP_ENTITYID"

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
    if curl -fsS --max-time 2 -o "$DIR/out/sp-metadata.xml" "$SP_ENTITYID" 2>/dev/null; then
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
  fail "setup: SimpleSAMLphp did not answer ${SP_ENTITYID}"
  for f in "$DIR"/log/*; do echo "--- $f"; tail -n 40 "$f"; done
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
if grep -q "entityID=\"$SP_ENTITYID\"" "$DIR/out/sp-metadata.xml"; then
  pass "setup: SimpleSAMLphp SP metadata at $SP_ENTITYID"
else
  fail "setup: SP metadata does not name entityID $SP_ENTITYID"
fi

rc=0
"$DRIVER" login "$SSP_BASE" "$IDP_BASE" "$DIR" >"$DIR/out/driver-login.log" 2>&1 || rc=$?
cat "$DIR/out/driver-login.log"
p=$(grep -c '^PASS ' "$DIR/out/driver-login.log" || true)
f=$(grep -c '^FAIL ' "$DIR/out/driver-login.log" || true)
PASSED=$((PASSED + p))
FAILED=$((FAILED + f))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
  fail "driver exited with status $rc without reporting a failure"
elif [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then
  fail "driver reported failures but exited 0"
elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
  fail "driver reported no checks"
fi

if [ "$FAILED" -ne 0 ]; then
  echo "--- SimpleSAMLphp log (last 60 lines)"
  tail -n 60 "$DIR/log/simplesamlphp.log" 2>/dev/null || true
  echo "--- work dir: $DIR"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
