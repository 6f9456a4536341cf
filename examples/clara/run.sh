#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Starts the five-party Clara demo on loopback (builds nothing: tools/demo.sh
# builds and then runs this). Runs setup.sh first (keys and certificates once,
# metadata and the signed aggregate every time), starts the FINK metadata
# server, then Servicekonto.NRW, Servicekonto Hamburg, Servicekonto
# Thüringen and the Thüringen portal, each on its own loopback address, and
# waits (bounded) until each says it is listening.
#
#   run.sh [--journey] [--dir DIR] [--build-dir DIR] [--port N]
#          [--md-addr A] [--nrw-addr A] [--hamburg-addr A] [--sk-addr A]
#          [--portal-addr A] [--insecure-http] [--start-timeout SECONDS]
#
# Without --journey it stays in the foreground and prints the portal URL and
# Clara's credentials; Ctrl-C (SIGINT) or SIGTERM stops all five processes
# and waits for them. With --journey it runs Clara's journey headless once
# (interkonto-clara-journey: every step with its timing), stops everything
# and exits with the journey's status.
#
# DIR defaults to build/clara-demo in this checkout. The process IDs of a run
# are written to DIR/run.pids (one "name pid" per line).
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/examples/clara
usage() {
  sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

JOURNEY=0
DIR=$REPO/build/clara-demo
BUILD_DIR=$REPO/build/default
START_TIMEOUT=60
SETUP_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
  --journey) JOURNEY=1; shift ;;
  --dir) DIR=$2; shift 2 ;;
  --build-dir) BUILD_DIR=$2; shift 2 ;;
  --start-timeout) START_TIMEOUT=$2; shift 2 ;;
  --port | --md-addr | --nrw-addr | --hamburg-addr | --sk-addr | --portal-addr)
    [ $# -ge 2 ] || usage
    SETUP_ARGS+=("$1" "$2"); shift 2 ;;
  --insecure-http) SETUP_ARGS+=("$1"); shift ;;
  -h | --help) usage ;;
  *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
done
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd || echo "$BUILD_DIR")

MDS=${INTERKONTO_METADATA_SERVER:-$BUILD_DIR/examples/interkonto-metadata-server}
CLARA=${INTERKONTO_CLARA:-$BUILD_DIR/examples/interkonto-clara}
JOURNEY_BIN=${INTERKONTO_CLARA_JOURNEY:-$BUILD_DIR/examples/interkonto-clara-journey}
for b in "$MDS" "$CLARA" "$JOURNEY_BIN"; do
  if [ ! -x "$b" ]; then
    echo "run.sh: $b is missing; build first (bash tools/demo.sh builds and runs)" >&2
    exit 1
  fi
done

# ---- setup (idempotent) ------------------------------------------------------
bash "$HERE/setup.sh" "$DIR" --build-dir "$BUILD_DIR" "${SETUP_ARGS[@]}" || {
  echo "run.sh: setup failed" >&2
  exit 1
}
DIR=$(cd "$DIR" && pwd)
# shellcheck source=/dev/null
. "$DIR/clara.conf"

# ---- process management ------------------------------------------------------
NAMES=()
PIDS=()
STOPPED=0
JPID=

stop_all() {
  [ "$STOPPED" = 1 ] && return 0
  STOPPED=1
  local i pid alive
  if [ -n "$JPID" ]; then kill -TERM "$JPID" 2>/dev/null; fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Bounded wait (10 s), then SIGKILL for anything left.
  for _ in $(seq 100); do
    alive=0
    for pid in "${PIDS[@]}"; do
      if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]; then
        alive=1
      fi
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for i in "${!PIDS[@]}"; do
    pid=${PIDS[$i]}
    if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]; then
      echo "run.sh: ${NAMES[$i]} (pid $pid) did not stop on SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  for pid in "${PIDS[@]}" $JPID; do wait "$pid" 2>/dev/null; done
  if [ "${#PIDS[@]}" -gt 0 ]; then echo "run.sh: stopped all ${#PIDS[@]} processes"; fi
}

# shellcheck disable=SC2317  # called from the traps
on_signal() {
  echo
  echo "run.sh: $1 received, stopping"
  stop_all
  trap - EXIT
  case "$1" in
  INT) exit 130 ;;
  HUP) exit 129 ;;
  *) exit 143 ;;
  esac
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP
trap 'stop_all' EXIT

LOGS=$DIR/logs
mkdir -p "$LOGS"
: >"$DIR/run.pids"

# start NAME COMMAND...: runs it in the background, output to logs/NAME.log.
start() {
  local name=$1
  shift
  "$@" --exit-with-parent >"$LOGS/$name.log" 2>&1 &
  local pid=$!
  NAMES+=("$name")
  PIDS+=("$pid")
  echo "$name $pid" >>"$DIR/run.pids"
}

# wait_ready NAME: until logs/NAME.log has the "listening on" line (bounded).
wait_ready() {
  local name=$1 i pid=
  for i in "${!NAMES[@]}"; do [ "${NAMES[$i]}" = "$name" ] && pid=${PIDS[$i]}; done
  local deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if grep -q '^listening on ' "$LOGS/$name.log" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: $name exited during start; its log ($LOGS/$name.log):" >&2
      tail -n 20 "$LOGS/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "run.sh: $name did not start within ${START_TIMEOUT}s; its log ($LOGS/$name.log):" >&2
  tail -n 20 "$LOGS/$name.log" >&2
  return 1
}

TLS=()
party_tls() { # name -> TLS options (none with --insecure-http)
  if [ "$CLARA_SCHEME" = https ]; then
    TLS=(--tls-cert "$DIR/tls/$1.pem" --tls-key "$DIR/tls/$1.key")
  else
    TLS=()
  fi
}

FED_URL=$CLARA_MD_URL/aggregate.xml
party() { # name role base-url extra...
  local name=$1 role=$2 base=$3
  shift 3
  party_tls "$name"
  local ca=() enc=()
  if [ "$CLARA_SCHEME" = https ]; then ca=(--ca "$DIR/ca/ca.pem"); else TLS=(--insecure-http); fi
  if [ -s "$DIR/saml/$name-enc.key" ]; then
    enc=(--saml-enc-key "$DIR/saml/$name-enc.key" --saml-enc-cert "$DIR/saml/$name-enc.pem")
  fi
  start "$name" "$CLARA" --role "$role" --base-url "$base" "${TLS[@]}" \
    --saml-key "$DIR/saml/$name.key" --saml-cert "$DIR/saml/$name.pem" "${enc[@]}" \
    --federation-url "$FED_URL" --federation-cert "$DIR/federation/signing.pem" "${ca[@]}" \
    --backing-file "$DIR/state/$name.backing.xml" "$@"
}

t0=$SECONDS
echo "run.sh: starting the five parties (logs in $LOGS)"
party_tls metadata-server
start metadata-server "$MDS" --listen "$CLARA_MD_ADDR" --port "$CLARA_PORT" "${TLS[@]}" \
  --signed "$DIR/metadata/aggregate.xml" --key "$DIR/federation/signing.key" \
  --cert "$DIR/federation/signing.pem" --cache-duration PT1H --reload-interval PT1M
wait_ready metadata-server || exit 1
party nrw nrw "$CLARA_NRW_URL"
party hamburg hamburg "$CLARA_HH_URL"
party servicekonto servicekonto "$CLARA_SK_URL" --portal "$CLARA_PORTAL_URL" \
  --discovery-secret-file "$DIR/state/discovery.secret"
party portal portal "$CLARA_PORTAL_URL" --servicekonto "$CLARA_SK_URL"
for n in nrw hamburg servicekonto portal; do wait_ready "$n" || exit 1; done
echo "run.sh: all five listening after $((SECONDS - t0))s"

if [ "$JOURNEY" = 1 ]; then
  ca=()
  if [ "$CLARA_SCHEME" = https ]; then ca=(--ca "$DIR/ca/ca.pem"); fi
  "$JOURNEY_BIN" --portal "$CLARA_PORTAL_URL" --servicekonto "$CLARA_SK_URL" --home-idp "$CLARA_NRW_URL" \
    "${ca[@]}" &
  JPID=$!
  wait "$JPID"
  rc=$?
  JPID=
  stop_all
  trap - EXIT
  exit "$rc"
fi

cat <<EOF

  The Clara journey is running: five processes on loopback.
    FINK metadata server     $CLARA_MD_URL/aggregate.xml
    Servicekonto.NRW         $CLARA_NRW_URL/
    Servicekonto Hamburg     $CLARA_HH_URL/
    Servicekonto Thüringen   $CLARA_SK_URL/
    Thüringen portal         $CLARA_PORTAL_URL/

  Open the portal:   $CLARA_PORTAL_URL/bauvoranfrage
  Choose "Servicekonto.NRW" and log in as Clara:   clara / clara-nrw
    (Servicekonto Hamburg: hanna / hanna-hh; trust level too low: max / max-nrw)

EOF
if [ "$CLARA_SCHEME" = https ]; then
  cat <<EOF
  The certificates come from a demo CA made for this machine: $DIR/ca/ca.pem
  Trust it in your browser (examples/clara/README.md), or use a throwaway profile:
    chromium --user-data-dir="\$(mktemp -d)" --ignore-certificate-errors $CLARA_PORTAL_URL/bauvoranfrage

EOF
fi
cat <<EOF
  Logs: $LOGS/*.log      Ctrl-C stops all five.
EOF

# Foreground until a signal (the traps stop everything) or until one of the
# five exits on its own (then the others are stopped too).
wait -n -p gone "${PIDS[@]}"
rc=$?
for i in "${!PIDS[@]}"; do
  if [ "${PIDS[$i]}" = "${gone:-}" ]; then
    echo "run.sh: ${NAMES[$i]} exited (status $rc); stopping the others. Its log:" >&2
    tail -n 20 "$LOGS/${NAMES[$i]}.log" >&2
  fi
done
stop_all
trap - EXIT
exit 1
