#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Generates everything the five-party Clara demo needs into DIR:
#   ca/         the demo CA (EC P-256), the trust anchor for every HTTPS hop
#   tls/        one TLS certificate per party (subjectAltName IP:<address>)
#   saml/       one SAML signing key (RSA-3072) + self-signed certificate per
#               party, and separate encryption keys for the SP roles
#   federation/ the federation's signing key (RSA-3072) + certificate (pinned)
#   metadata/   each party's metadata (interkonto-clara --print-metadata) and
#               aggregate.xml, signed by `interkonto metadata sign`
#               (RSASSA-PSS) and checked with `interkonto metadata verify`
#   state/      backing files of the parties' metadata providers
#   clara.conf  the settings, read by run.sh
# Keys and certificates are made once and kept; metadata and the aggregate
# are made again on every run (ports may change; validUntil moves on).
#
#   setup.sh DIR [--build-dir DIR] [--port N] [--md-addr A] [--nrw-addr A]
#                [--hamburg-addr A] [--sk-addr A] [--portal-addr A]
#                [--insecure-http] [--quiet]
#
# Defaults: port 8443; 127.0.0.2 metadata server, .3 NRW, .4 Hamburg,
# .5 Servicekonto Thüringen, .6 portal. The binaries are taken from
# --build-dir (default: build/default of this checkout), or from the
# environment: INTERKONTO_CLI, INTERKONTO_CLARA.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
usage() {
  sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; esac
DIR=$1
shift
BUILD_DIR=$REPO/build/default
PORT=${CLARA_PORT:-8443}
MD_ADDR=127.0.0.2
NRW_ADDR=127.0.0.3
HH_ADDR=127.0.0.4
SK_ADDR=127.0.0.5
PORTAL_ADDR=127.0.0.6
SCHEME=https
QUIET=0
while [ $# -gt 0 ]; do
  case "$1" in
  --build-dir) BUILD_DIR=$2; shift 2 ;;
  --port) PORT=$2; shift 2 ;;
  --md-addr) MD_ADDR=$2; shift 2 ;;
  --nrw-addr) NRW_ADDR=$2; shift 2 ;;
  --hamburg-addr) HH_ADDR=$2; shift 2 ;;
  --sk-addr) SK_ADDR=$2; shift 2 ;;
  --portal-addr) PORTAL_ADDR=$2; shift 2 ;;
  --insecure-http) SCHEME=http; shift ;;
  --quiet) QUIET=1; shift ;;
  -h | --help) usage ;;
  *) echo "setup.sh: unknown option $1" >&2; usage ;;
  esac
done
case "$PORT" in '' | *[!0-9]*) echo "setup.sh: --port must be a number" >&2; exit 2 ;; esac

CLI=${INTERKONTO_CLI:-$BUILD_DIR/tools/interkonto/interkonto}
CLARA=${INTERKONTO_CLARA:-$BUILD_DIR/examples/interkonto-clara}
for b in "$CLI" "$CLARA"; do
  if [ ! -x "$b" ]; then
    echo "setup.sh: $b is missing; build it first (bash tools/demo.sh builds everything)" >&2
    exit 1
  fi
done
command -v openssl >/dev/null || { echo "setup.sh: the openssl command is missing" >&2; exit 1; }

say() { if [ "$QUIET" = 0 ]; then echo "setup: $*"; fi; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
umask 077
mkdir -p "$DIR"/{ca,tls,saml,federation,metadata,state,logs}

# ---- the demo CA (EC P-256) ------------------------------------------------
# Name-constrained: it can vouch for loopback addresses (127.0.0.0/8) only, and
# for no real DNS name, so trusting it in a browser opens nothing else.
if [ ! -s "$DIR/ca/ca.pem" ] || [ ! -s "$DIR/ca/ca.key" ]; then
  say "demo CA (EC P-256) -> $DIR/ca/ca.pem"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$DIR/ca/ca.key" -out "$DIR/ca/ca.pem" -days 825 -sha256 \
    -subj "/O=interkonto demo/CN=interkonto Clara demo CA $(date -u +%Y%m%d%H%M%S)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "nameConstraints=critical,permitted;IP:127.0.0.0/255.0.0.0,permitted;DNS:clara-demo.invalid" \
    2>/dev/null
  chmod 644 "$DIR/ca/ca.pem"
fi

# ---- TLS certificates (EC P-256, subjectAltName IP:<address>) ---------------
tls_cert() { # name address
  local name=$1 addr=$2
  local key="$DIR/tls/$name.key" crt="$DIR/tls/$name.pem" stamp="$DIR/tls/$name.addr"
  if [ -s "$key" ] && [ -s "$crt" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$addr" ] &&
    openssl x509 -in "$crt" -noout -checkend 86400 >/dev/null 2>&1 &&
    openssl verify -CAfile "$DIR/ca/ca.pem" "$crt" >/dev/null 2>&1; then
    return 0
  fi
  say "TLS certificate for $name ($addr)"
  local ext="$DIR/tls/$name.ext"
  cat >"$ext" <<EOF
subjectAltName=IP:$addr
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
EOF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$key" \
    -out "$DIR/tls/$name.csr" -subj "/O=interkonto demo/CN=Clara demo $name" 2>/dev/null
  openssl x509 -req -in "$DIR/tls/$name.csr" -CA "$DIR/ca/ca.pem" -CAkey "$DIR/ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 397 -sha256 -extfile "$ext" -out "$crt" 2>/dev/null
  rm -f "$DIR/tls/$name.csr" "$ext"
  echo "$addr" >"$stamp"
}

# ---- SAML keys (RSA-3072) and self-signed certificates ----------------------
saml_cert() { # name CN
  local name=$1 cn=$2
  local key="$DIR/saml/$name.key" crt="$DIR/saml/$name.pem"
  if [ -s "$key" ] && [ -s "$crt" ] && openssl x509 -in "$crt" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  say "SAML key (RSA-3072) for $name"
  openssl req -x509 -newkey rsa:3072 -nodes -keyout "$key" -out "$crt" -days 1095 -sha256 \
    -subj "/O=interkonto demo/CN=$cn" 2>/dev/null
}

tls_cert metadata-server "$MD_ADDR"
tls_cert nrw "$NRW_ADDR"
tls_cert hamburg "$HH_ADDR"
tls_cert servicekonto "$SK_ADDR"
tls_cert portal "$PORTAL_ADDR"
saml_cert nrw "Servicekonto.NRW SAML signing"
saml_cert hamburg "Servicekonto Hamburg SAML signing"
saml_cert servicekonto "Servicekonto Thueringen SAML signing"
saml_cert portal "Thueringen-Portal SAML signing"
# Separate encryption keys (metadata use="encryption") for the SAML roles that
# receive encrypted assertions: the proxy's SP side and the portal.
saml_cert servicekonto-enc "Servicekonto Thueringen SAML encryption"
saml_cert portal-enc "Thueringen-Portal SAML encryption"

# The federation's signing key; its certificate is what every party pins.
if [ ! -s "$DIR/federation/signing.key" ] || [ ! -s "$DIR/federation/signing.pem" ] ||
  ! openssl x509 -in "$DIR/federation/signing.pem" -noout -checkend 86400 >/dev/null 2>&1; then
  say "federation signing key (RSA-3072)"
  openssl req -x509 -newkey rsa:3072 -nodes -keyout "$DIR/federation/signing.key" \
    -out "$DIR/federation/signing.pem" -days 1095 -sha256 \
    -subj "/O=interkonto demo/CN=FINK demo federation metadata signer" 2>/dev/null
fi

if [ ! -s "$DIR/state/discovery.secret" ]; then
  openssl rand -hex 32 >"$DIR/state/discovery.secret"
fi

# ---- metadata and the signed aggregate ---------------------------------------
url() { echo "$SCHEME://$1:$PORT"; }
MD_URL=$(url "$MD_ADDR")
NRW_URL=$(url "$NRW_ADDR")
HH_URL=$(url "$HH_ADDR")
SK_URL=$(url "$SK_ADDR")
PORTAL_URL=$(url "$PORTAL_ADDR")

print_metadata() { # role base-url name
  local enc=()
  if [ -s "$DIR/saml/$3-enc.key" ]; then
    enc=(--saml-enc-key "$DIR/saml/$3-enc.key" --saml-enc-cert "$DIR/saml/$3-enc.pem")
  fi
  "$CLARA" --role "$1" --base-url "$2" --saml-key "$DIR/saml/$3.key" --saml-cert "$DIR/saml/$3.pem" \
    "${enc[@]}" --print-metadata >"$DIR/metadata/$3.xml.tmp"
  mv "$DIR/metadata/$3.xml.tmp" "$DIR/metadata/$3.xml"
}
say "metadata of the four parties ($SCHEME, port $PORT)"
print_metadata nrw "$NRW_URL" nrw
print_metadata hamburg "$HH_URL" hamburg
print_metadata servicekonto "$SK_URL" servicekonto
print_metadata portal "$PORTAL_URL" portal

say "signing the aggregate: interkonto metadata sign (rsa-pss-sha256, valid 7 days)"
"$CLI" metadata sign --key "$DIR/federation/signing.key" --cert "$DIR/federation/signing.pem" \
  --alg rsa-pss-sha256 --valid-for P7D --cache-duration PT1H --name "urn:fink:demo:clara" \
  "$DIR/metadata/nrw.xml" "$DIR/metadata/hamburg.xml" "$DIR/metadata/servicekonto.xml" \
  "$DIR/metadata/portal.xml" >"$DIR/metadata/aggregate.xml.tmp"
verify=$("$CLI" metadata verify --cert "$DIR/federation/signing.pem" "$DIR/metadata/aggregate.xml.tmp")
mv "$DIR/metadata/aggregate.xml.tmp" "$DIR/metadata/aggregate.xml"
chmod 644 "$DIR/metadata/"*.xml "$DIR/federation/signing.pem"
say "interkonto metadata verify: $verify"

cat >"$DIR/clara.conf" <<EOF
# Written by examples/clara/setup.sh; read by run.sh.
CLARA_SCHEME=$SCHEME
CLARA_PORT=$PORT
CLARA_MD_ADDR=$MD_ADDR
CLARA_NRW_ADDR=$NRW_ADDR
CLARA_HH_ADDR=$HH_ADDR
CLARA_SK_ADDR=$SK_ADDR
CLARA_PORTAL_ADDR=$PORTAL_ADDR
CLARA_MD_URL=$MD_URL
CLARA_NRW_URL=$NRW_URL
CLARA_HH_URL=$HH_URL
CLARA_SK_URL=$SK_URL
CLARA_PORTAL_URL=$PORTAL_URL
EOF
say "done: $DIR"
