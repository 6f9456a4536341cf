#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
#
# Interop test: interkonto's ServiceProvider logs Clara in at a real
# SimpleSAMLphp 1.19 IdP (Debian package) over HTTP on loopback.
#
#   run.sh <path to ssp_interop_driver> <work dir>
#
# Starts SimpleSAMLphp under PHP's built-in server with its whole
# configuration in a fresh directory below <work dir>, then runs the driver
# in two scenarios:
#   A  assertion signed (response not signed), not encrypted; unsigned
#      AuthnRequest
#   B  response and assertion signed, assertion encrypted for the SP
#      (rsa-oaep-mgf1p + aes128-cbc); AuthnRequest signed with RSA-SHA256 and
#      validated by SimpleSAMLphp
# Prints "N passed, M failed"; exits non-zero when anything failed. The PHP
# server's process group is always killed on exit.

set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <ssp_interop_driver> <work dir>" >&2
  exit 2
fi

DRIVER=$(realpath "$1")
WORK=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SSP_WWW=/usr/share/simplesamlphp/www

# shellcheck source=../ssp_common.sh
source "$HERE/../ssp_common.sh"

# ---- keys: the IdP's, and the SP's signing and encryption keys ----
make_cert "interop SimpleSAMLphp IdP" idp
make_cert "interop interkonto SP signing" sp-sign
make_cert "interop interkonto SP encryption" sp-enc

SECRETSALT=$(openssl rand -hex 16)
ADMINPASSWORD=$(openssl rand -hex 16)

cp "$HERE/authsources.php" "$DIR/authsources.php"
# Until the driver has printed the SP's metadata: an empty aggregate.
printf '%s\n' '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>' >"$DIR/sp-metadata.xml"

write_idp_hosted() { # sign_response encrypt validate_authnrequest
  render "$HERE/saml20-idp-hosted.php.in" "$DIR/metadata/saml20-idp-hosted.php" \
    "DIR=$DIR" "IDP_ENTITYID=$IDP_ENTITYID" \
    "SIGN_RESPONSE=$1" "ENCRYPT=$2" "VALIDATE_AUTHNREQUEST=$3"
}

# ---- start SimpleSAMLphp on a free loopback port (bounded retries) ----
SSP_BASE=""
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  SSP_BASE="http://127.0.0.1:$PORT/"
  IDP_ENTITYID="${SSP_BASE}saml2/idp/metadata.php"
  render "$HERE/config.php.in" "$DIR/config.php" \
    "BASEURL=$SSP_BASE" "DIR=$DIR" "SECRETSALT=$SECRETSALT" "ADMINPASSWORD=$ADMINPASSWORD"
  write_idp_hosted false false false

  SIMPLESAMLPHP_CONFIG_DIR=$DIR PHP_CLI_SERVER_WORKERS=4 TZ=UTC \
    setsid php -d opcache.enable=0 -d opcache.enable_cli=0 \
    -d session.save_path="$DIR/sessions" -d display_errors=stderr \
    -S "127.0.0.1:$PORT" -t "$SSP_WWW" \
    </dev/null >"$DIR/log/php-server.$attempt.log" 2>&1 9>&- &
  SERVER_PID=$!

  up=no
  for _ in $(seq 1 150); do # 30 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      break
    fi
    if curl -fsS --max-time 2 -o "$DIR/out/idp-metadata.xml" "$IDP_ENTITYID" 2>/dev/null; then
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

if [ "${up:-no}" != yes ]; then
  fail "setup: SimpleSAMLphp did not answer ${IDP_ENTITYID}"
  for f in "$DIR"/log/*; do echo "--- $f"; tail -n 40 "$f"; done
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
if grep -q "entityID=\"$IDP_ENTITYID\"" "$DIR/out/idp-metadata.xml"; then
  pass "setup: SimpleSAMLphp IdP metadata at $IDP_ENTITYID"
else
  fail "setup: IdP metadata does not name entityID $IDP_ENTITYID"
fi

# The SP's base URL on loopback: nothing listens there, the driver delivers
# the IdP's POST to the SP in-process.
SP_BASE="http://127.0.0.1:$(free_port)"

run_scenario() { # name sign_response encrypt validate_authnrequest
  local name=$1
  write_idp_hosted "$2" "$3" "$4"

  # The SP's metadata as interkonto publishes it, handed to SimpleSAMLphp.
  if "$DRIVER" metadata "$name" "$SSP_BASE" "$SP_BASE" "$DIR" \
    >"$DIR/out/sp-metadata-$name.xml" 2>"$DIR/out/driver-metadata-$name.err"; then
    cp "$DIR/out/sp-metadata-$name.xml" "$DIR/sp-metadata.xml.tmp"
    mv "$DIR/sp-metadata.xml.tmp" "$DIR/sp-metadata.xml"
    pass "$name: SP metadata written by the driver"
  else
    fail "$name: driver could not produce SP metadata"
    cat "$DIR/out/driver-metadata-$name.err"
    return 0
  fi

  local rc=0
  "$DRIVER" login "$name" "$SSP_BASE" "$SP_BASE" "$DIR" \
    >"$DIR/out/driver-$name.log" 2>&1 || rc=$?
  cat "$DIR/out/driver-$name.log"
  local p f
  p=$(grep -c '^PASS ' "$DIR/out/driver-$name.log" || true)
  f=$(grep -c '^FAIL ' "$DIR/out/driver-$name.log" || true)
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    fail "$name: driver exited with status $rc without reporting a failure"
  elif [ "$rc" -eq 0 ] && [ "$f" -ne 0 ]; then
    fail "$name: driver reported failures but exited 0"
  elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    fail "$name: driver reported no checks"
  fi
}

#            name sign.response encryption validate.authnrequest
run_scenario A false false false
run_scenario B true true true

if [ "$FAILED" -ne 0 ]; then
  echo "--- SimpleSAMLphp log (last 60 lines)"
  tail -n 60 "$DIR/log/simplesamlphp.log" 2>/dev/null || true
  echo "--- work dir: $DIR"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
