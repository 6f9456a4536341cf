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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../ssp_common.sh
source "$HERE/../ssp_common.sh" ssp_interop_driver "$@"

# ---- keys: the IdP's, and the SP's signing and encryption keys ----
make_cert "interop SimpleSAMLphp IdP" idp
make_cert "interop interkonto SP signing" sp-sign
make_cert "interop interkonto SP encryption" sp-enc

cp "$HERE/authsources.php" "$DIR/authsources.php"
# Until the driver has printed the SP's metadata: an empty aggregate.
printf '%s\n' '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>' >"$DIR/sp-metadata.xml"

write_idp_hosted() { # sign_response encrypt validate_authnrequest
  render "$HERE/saml20-idp-hosted.php.in" "$DIR/metadata/saml20-idp-hosted.php" \
    "DIR=$DIR" "IDP_ENTITYID=$IDP_ENTITYID" \
    "SIGN_RESPONSE=$1" "ENCRYPT=$2" "VALIDATE_AUTHNREQUEST=$3"
}

# ---- start SimpleSAMLphp on a free loopback port ----
# shellcheck disable=SC2317 # called by start_ssp
configure_ssp() {
  IDP_ENTITYID="${SSP_BASE}saml2/idp/metadata.php"
  SSP_PROBE_URL=$IDP_ENTITYID
  render "$HERE/config.php.in" "$DIR/config.php" \
    "BASEURL=$SSP_BASE" "DIR=$DIR" "SECRETSALT=$SECRETSALT" "ADMINPASSWORD=$ADMINPASSWORD"
  write_idp_hosted false false false
}
start_ssp configure_ssp "$DIR/out/idp-metadata.xml" IdP

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

  run_driver "$name: " "$DIR/out/driver-$name.log" login "$name" "$SSP_BASE" "$SP_BASE" "$DIR"
}

#            name sign.response encryption validate.authnrequest
run_scenario A false false false
run_scenario B true true true

finish
