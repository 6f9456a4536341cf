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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../ssp_common.sh
source "$HERE/../ssp_common.sh" ssp_proxy_interop_driver "$@"

# ---- keys: the proxy's IdP side and SimpleSAMLphp's SP key ----
make_cert "interop interkonto proxy IdP" proxy
make_cert "interop SimpleSAMLphp SP" sp

# The proxy's IdP base URL on loopback: nothing listens there, the driver
# takes the AuthnRequest from SimpleSAMLphp's redirect in-process.
PROXY_BASE="http://127.0.0.1:$(free_port)"
PROXY_ENTITYID="$PROXY_BASE/proxy/idp"

write_idp_metadata "$PROXY_BASE" "$PROXY_ENTITYID" "the proxy's IdP metadata"

# ---- start SimpleSAMLphp on a free loopback port ----
# shellcheck disable=SC2317 # called by start_ssp
configure_ssp() {
  LEVEL3_ENTITYID="${SSP_BASE}module.php/saml/sp/metadata.php/level3-sp"
  PLAIN_ENTITYID="${SSP_BASE}module.php/saml/sp/metadata.php/plain-sp"
  SSP_PROBE_URL=$LEVEL3_ENTITYID
  render "$HERE/../simplesamlphp_sp/config.php.in" "$DIR/config.php" \
    "BASEURL=$SSP_BASE" "DIR=$DIR" "SECRETSALT=$SECRETSALT" "ADMINPASSWORD=$ADMINPASSWORD"
  render "$HERE/authsources.php.in" "$DIR/authsources.php" \
    "DIR=$DIR" "LEVEL3_ENTITYID=$LEVEL3_ENTITYID" "PLAIN_ENTITYID=$PLAIN_ENTITYID" \
    "IDP_ENTITYID=$PROXY_ENTITYID"
}
start_ssp configure_ssp "$DIR/out/level3-metadata.xml" SP

run_driver "" "$DIR/out/driver-login.log" login "$SSP_BASE" "$PROXY_BASE" "$DIR"
finish
