#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
#
# Interop test: a real SimpleSAMLphp 1.19 SP (Debian package) on loopback
# accepts the assertions issued by interkonto's IdP/SP proxy, and shows the
# proxy's SAML error Responses as failed logins.
#
#   run.sh <path to ssp_proxy_interop_driver> <work dir>
#
# Writes the proxy's IdP metadata (from the driver) into a fresh
# SIMPLESAMLPHP_CONFIG_DIR below <work dir>, starts SimpleSAMLphp as two
# portals (signed AuthnRequests with RSA-SHA256, signed and encrypted
# assertions required; one asks for STORK-QAA-Level-3 minimum) under PHP's
# built-in server, then lets the driver play browser, proxy and upstream
# IdP. Prints "N passed, M failed"; exits non-zero when anything failed.
# The PHP server's process group is always killed on exit.
#
# SimpleSAMLphp's config.php is the one of the sibling test
# (../simplesamlphp_sp/config.php.in): its IdP metadata file is the proxy's.

set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <ssp_proxy_interop_driver> <work dir>" >&2
  exit 2
fi

DRIVER=$(realpath "$1")
WORK=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SSP_WWW=/usr/share/simplesamlphp/www

# shellcheck source=../ssp_common.sh
source "$HERE/../ssp_common.sh"

# ---- keys: the proxy's IdP side and SimpleSAMLphp's SP key ----
make_cert "interop interkonto proxy IdP" proxy
make_cert "interop SimpleSAMLphp SP" sp

SECRETSALT=$(openssl rand -hex 16)
ADMINPASSWORD=$(openssl rand -hex 16)

# The proxy's IdP base URL on loopback: nothing listens there, the driver
# takes the AuthnRequest from SimpleSAMLphp's redirect in-process.
PROXY_BASE="http://127.0.0.1:$(free_port)"
PROXY_ENTITYID="$PROXY_BASE/proxy/idp"

if "$DRIVER" metadata "$PROXY_BASE" "$DIR" >"$DIR/idp-metadata.xml.tmp" 2>"$DIR/out/driver-metadata.err" &&
  grep -q "entityID=\"$PROXY_ENTITYID\"" "$DIR/idp-metadata.xml.tmp"; then
  mv "$DIR/idp-metadata.xml.tmp" "$DIR/idp-metadata.xml"
  pass "setup: the proxy's IdP metadata written by the driver"
else
  fail "setup: driver could not produce the proxy's IdP metadata"
  cat "$DIR/out/driver-metadata.err"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

# ---- start SimpleSAMLphp on a free loopback port (bounded retries) ----
up=no
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  SSP_BASE="http://127.0.0.1:$PORT/"
  LEVEL3_ENTITYID="${SSP_BASE}module.php/saml/sp/metadata.php/level3-sp"
  PLAIN_ENTITYID="${SSP_BASE}module.php/saml/sp/metadata.php/plain-sp"
  render "$HERE/../simplesamlphp_sp/config.php.in" "$DIR/config.php" \
    "BASEURL=$SSP_BASE" "DIR=$DIR" "SECRETSALT=$SECRETSALT" "ADMINPASSWORD=$ADMINPASSWORD"
  render "$HERE/authsources.php.in" "$DIR/authsources.php" \
    "DIR=$DIR" "LEVEL3_ENTITYID=$LEVEL3_ENTITYID" "PLAIN_ENTITYID=$PLAIN_ENTITYID" \
    "IDP_ENTITYID=$PROXY_ENTITYID"

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
    if curl -fsS --max-time 2 -o "$DIR/out/level3-metadata.xml" "$LEVEL3_ENTITYID" 2>/dev/null; then
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
  fail "setup: SimpleSAMLphp did not answer ${LEVEL3_ENTITYID}"
  for f in "$DIR"/log/*; do echo "--- $f"; tail -n 40 "$f"; done
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
if grep -q "entityID=\"$LEVEL3_ENTITYID\"" "$DIR/out/level3-metadata.xml"; then
  pass "setup: SimpleSAMLphp SP metadata at $LEVEL3_ENTITYID"
else
  fail "setup: SP metadata does not name entityID $LEVEL3_ENTITYID"
fi

rc=0
"$DRIVER" login "$SSP_BASE" "$PROXY_BASE" "$DIR" >"$DIR/out/driver-login.log" 2>&1 || rc=$?
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
