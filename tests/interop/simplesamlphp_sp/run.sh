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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../ssp_common.sh
source "$HERE/../ssp_common.sh" ssp_sp_interop_driver "$@"

# ---- keys: our IdP's, a foreign signer's, and SimpleSAMLphp's SP key ----
make_cert "interop interkonto IdP" idp
make_cert "interop foreign signer" foreign
make_cert "interop SimpleSAMLphp SP" sp

# Our IdP's base URL on loopback: nothing listens there, the driver takes
# the AuthnRequest from SimpleSAMLphp's redirect in-process.
IDP_BASE="http://127.0.0.1:$(free_port)"
IDP_ENTITYID="$IDP_BASE/idp"

write_idp_metadata "$IDP_BASE" "$IDP_ENTITYID" "IdP metadata"

# ---- start SimpleSAMLphp on a free loopback port ----
# shellcheck disable=SC2317 # called by start_ssp
configure_ssp() {
  SP_ENTITYID="${SSP_BASE}module.php/saml/sp/metadata.php/default-sp"
  SSP_PROBE_URL=$SP_ENTITYID
  render "$HERE/config.php.in" "$DIR/config.php" \
    "BASEURL=$SSP_BASE" "DIR=$DIR" "SECRETSALT=$SECRETSALT" "ADMINPASSWORD=$ADMINPASSWORD"
  render "$HERE/authsources.php.in" "$DIR/authsources.php" \
    "DIR=$DIR" "SP_ENTITYID=$SP_ENTITYID" "IDP_ENTITYID=$IDP_ENTITYID"
}
start_ssp configure_ssp "$DIR/out/sp-metadata.xml" SP

run_driver "" "$DIR/out/driver-login.log" login "$SSP_BASE" "$IDP_BASE" "$DIR"
finish
