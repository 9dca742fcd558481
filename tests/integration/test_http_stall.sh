#!/usr/bin/env bash
# Stalled writes: a client that asks for a large file and then stops reading must not hold its
# connection (and the worker's memory) forever. With write_timeout = 2s the server gives up on a
# write that makes no progress; moat_open_connections shows the connection gone, while a client
# that reads slowly but steadily still completes its download.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
METRICS_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
mkdir -p "$T/site"
head -c 48000000 /dev/urandom > "$T/site/big.bin"
printf 'hello\n' > "$T/site/index.html"

cat > "$T/moat.toml" <<TOML
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = "127.0.0.1:$METRICS_PORT"
workers = 2
write_timeout = "2s"
[sites."stall.test"]
root = "$T/site"
TOML
moat_start serve --config "$T/moat.toml"

open_conns() {
    curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk '$1 == "moat_open_connections" {print $2}'
}

# A client that reads the first bytes of a 48 MB response, then never reads again.
cat > "$T/stall.py" <<'PY'
import socket, ssl, sys, time
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
# A small receive buffer so the server's writes stall quickly.
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s = ctx.wrap_socket(raw, server_hostname="stall.test")
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: stall.test\r\n\r\n")
s.recv(1000)
# The moment this client stops reading: the close is timed from here, not from when the test
# notices this line.
print("stalled %.3f" % time.time(), flush=True)
time.sleep(float(sys.argv[3]))
PY
python3 "$T/stall.py" "$HTTPS_PORT" "$CA" 20 > "$T/stall.out" 2>&1 &
stall=$!
PIDS+=("$stall")
# Python and a TLS handshake: allow a slow machine its time (the loop ends as soon as it is there).
for _ in $(seq 300); do grep -q stalled "$T/stall.out" && break; sleep 0.1; done
t0=$(awk '$1 == "stalled" {print $2}' "$T/stall.out")
t0=${t0:-$(date +%s.%N)}
expect_eq "the stalled connection is open at first" "$(open_conns)" 1
gone=
for _ in $(seq 150); do
    if [ "$(open_conns)" = 0 ]; then gone=$(date +%s.%N); break; fi
    sleep 0.1
done
if [ -n "$gone" ]; then
    secs=$(awk -v a="$t0" -v b="$gone" 'BEGIN{printf "%.1f", b-a}')
    check "stalled write closed after write_timeout (${secs}s)" \
        awk -v s="$secs" 'BEGIN{exit !(s >= 1.0 && s <= 12.0)}'
else
    fail "stalled connection still open after 15 s"
fi
kill "$stall" 2>/dev/null || true

# A slow but steady reader keeps making progress, so write_timeout never fires on it: 12 MB at
# 1.5 MB/s takes about 8 s, four times the timeout (and far more than the socket buffers hold).
for proto in --http1.1 --http2; do
    got=$(mcurl --max-time 30 $proto --resolve "stall.test:$HTTPS_PORT:127.0.0.1" --limit-rate 1500K \
            -r 0-11999999 -o "$T/part.bin" -w '%{http_code} %{size_download}' \
            "https://stall.test:$HTTPS_PORT/big.bin")
    expect_eq "slow steady reader completes ($proto)" "$got" "206 12000000"
    check "slow reader got the right bytes ($proto)" \
        cmp -s "$T/part.bin" <(head -c 12000000 "$T/site/big.bin")
done

check "moat still running" kill -0 "$MOAT_PID"
expect_eq "still serves" "$(mcurl -o /dev/null -w '%{http_code}' \
    --resolve "stall.test:$HTTPS_PORT:127.0.0.1" "https://stall.test:$HTTPS_PORT/")" 200
finish
