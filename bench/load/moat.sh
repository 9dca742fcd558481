#!/usr/bin/env bash
# moat.sh start|stop MOAT_BINARY — run moat as one more benchmark target beside peers.sh's
# nginx/h2o/caddy: it serves the corpus.sh tree with the certs.sh certificate on MOAT_PORT
# (default 9444), 2 workers, no access log (the peers log nothing either), every other default
# (its own security headers, precompressed siblings, compression variants).
# SERVER_CPUS=0 pins it with taskset like peers.sh does. MOAT_HEADERS=peers serves through a
# config that sends exactly the peers' six security headers (and no COOP/CORP), for a
# like-for-like comparison of header bytes; the default is moat's own (larger) policy.
set -euo pipefail
B=${MOAT_BENCH_DIR:-/tmp/moat-bench}
PORT=${MOAT_PORT:-9444}
cmd=${1:?usage: moat.sh start|stop MOAT_BINARY}
BIN=${2:-}
R=$B/peers/moat
mkdir -p "$R"
stop() {
  if [ -s "$R/pid" ] && kill -0 "$(cat "$R/pid")" 2>/dev/null; then
    kill -TERM "$(cat "$R/pid")"
    for _ in $(seq 50); do kill -0 "$(cat "$R/pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$R/pid"
}
case $cmd in
  stop) stop;;
  start)
    [ -x "$BIN" ] || { echo "moat.sh: give the moat binary" >&2; exit 2; }
    stop
    PIN=(); [ -n "${SERVER_CPUS:-}" ] && PIN=(taskset -c "$SERVER_CPUS")
    cd "$R"
    if [ "${MOAT_HEADERS:-}" = peers ]; then
      cat > "$R/moat.toml" <<TOML
data_dir = "$R/data"
log_level = "warn"
[edge]
https = ["127.0.0.1:$PORT", "[::1]:$PORT"]
http = []
metrics = ""
workers = 2
access_log = false
[tls]
default_host = "127.0.0.1"
[sites."127.0.0.1"]
aliases = ["localhost"]
tls = "files"
cert = "$B/certs/server.crt"
key = "$B/certs/server.key"
root = "$B/site"
cache = []
[sites."127.0.0.1".headers]
hsts_max_age = 31536000
hsts_include_subdomains = true
content_security_policy = "default-src 'self'"
referrer_policy = "same-origin"
permissions_policy = "geolocation=()"
remove = ["Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy"]
TOML
      "${PIN[@]}" "$BIN" serve --config "$R/moat.toml" > "$R/moat.log" 2>&1 &
    else
      "${PIN[@]}" "$BIN" serve --root "$B/site" --listen "127.0.0.1:$PORT" --listen "[::1]:$PORT" \
        --cert "$B/certs/server.crt" --key "$B/certs/server.key" --workers 2 --data "$R/data" \
        --log-level warn > "$R/moat.log" 2>&1 &
    fi
    echo $! > "$R/pid"
    for _ in $(seq 100); do
      curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$PORT/index.html" && exit 0
      sleep 0.1
    done
    echo "moat.sh: moat did not start" >&2; cat "$R/moat.log" >&2; exit 1;;
  *) echo "usage: moat.sh start|stop MOAT_BINARY" >&2; exit 2;;
esac
