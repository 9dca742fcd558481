#!/usr/bin/env bash
# Connection timeouts with short settings (2 s each): a slowloris request head is cut at
# header_timeout, an idle keep-alive connection (HTTP/1.1 and HTTP/2) at idle_timeout, a TLS
# handshake that stalls at handshake_timeout. Timed with python3 raw sockets.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
make_site "$T/site" prod

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2
handshake_timeout = "2s"
header_timeout = "2s"
idle_timeout = "2s"

[sites."a.moat.test"]
root = "$T/site"
EOF
moat_start serve --config "$T/moat.toml"

# timing.py CASE PORT: runs one scenario, prints "<seconds until the server closed> <detail>".
cat > "$T/timing.py" <<'PY'
import socket, ssl, sys, time
case, port = sys.argv[1], int(sys.argv[2])

def tls(alpn="http/1.1"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="a.moat.test")

def until_closed(s, limit=30):
    """Seconds until EOF/reset, and the bytes received meanwhile."""
    t0, got = time.time(), b""
    s.settimeout(0.2)
    while time.time() - t0 < limit:
        try:
            b = s.recv(65536)
            if not b:
                break
            got += b
        except (socket.timeout, TimeoutError):
            continue
        except (ssl.SSLError, OSError):
            break
    return time.time() - t0, got

def response(s):
    """Reads one small response (headers + Content-Length body)."""
    s.settimeout(5)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(65536)
    return head.split(b"\r\n")[0].decode()

if case == "slowloris":
    s = tls()
    s.sendall(b"GET / HTTP/1.1\r\n")
    t0 = time.time()
    sent = 0
    closed_at = None
    for ch in b"Host: a.moat.test\r\nX-Slow: " + b"a" * 60:
        try:
            s.sendall(bytes([ch]))
            sent += 1
            s.settimeout(1)
            if s.recv(1) == b"":
                closed_at = time.time() - t0
                break
        except (socket.timeout, TimeoutError):
            continue
        except (ssl.SSLError, OSError):
            closed_at = time.time() - t0
            break
    print("%.2f bytes=%d" % (closed_at if closed_at is not None else 999, sent))
elif case == "idle":
    # Timed from before the request: the server's idle wait starts after its response, so a
    # slow client cannot make a correct server look early.
    s = tls()
    t0 = time.time()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\n")
    status = response(s)
    until_closed(s)
    print("%.2f %s" % (time.time() - t0, status))
elif case == "busy":
    # Requests every half second keep the connection open past idle_timeout (4 s in all): the
    # gaps stay well under the 2 s timeout even when a loaded machine is slow to wake us.
    s = tls()
    statuses = []
    for _ in range(8):
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\n")
        statuses.append(response(s).split()[1])
        time.sleep(0.5)
    print("0 " + ",".join(statuses))
elif case == "h2idle":
    # Timed from before the connection: the server's idle wait starts after its handshake.
    t0 = time.time()
    s = tls("h2")
    assert s.selected_alpn_protocol() == "h2"
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    _, got = until_closed(s)
    print("%.2f frames=%d" % (time.time() - t0, len(got)))
elif case == "h2ping":
    # PINGs every half second are no requests: the connection still ends at idle_timeout.
    # Timed from before the connection, as h2idle.
    t0 = time.time()
    s = tls("h2")
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    s.settimeout(0.5)
    closed = None
    while time.time() - t0 < 15 and closed is None:
        try:
            s.sendall(b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"pingpong")
            while True:
                b = s.recv(65536)
                if not b:
                    closed = time.time() - t0
                    break
        except (socket.timeout, TimeoutError):
            continue
        except (ssl.SSLError, OSError):
            closed = time.time() - t0
    print("%.2f" % (closed if closed is not None else 999))
elif case == "partial_hello":
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    # A TLS record header announcing a 512-byte ClientHello, then only part of it.
    raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20)
    dt, got = until_closed(raw)
    print("%.2f got=%d" % (dt, len(got)))
elif case == "silent":
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    dt, got = until_closed(raw, limit=40)
    print("%.2f got=%d" % (dt, len(got)))
PY
timing() { timeout 60 python3 "$T/timing.py" "$1" "$HTTPS_PORT" 2>&1 || true; }
# within NAME RESULT LO HI: the first field of RESULT (seconds) lies in [LO, HI].
within() {
    local secs=${2%% *}
    if awk -v s="$secs" -v lo="$3" -v hi="$4" 'BEGIN { exit !(s + 0 == s && s >= lo && s <= hi) }' 2>/dev/null \
        && [[ $secs =~ ^[0-9.]+$ ]]; then
        pass "$1 ($2)"
    else
        fail "$1: '$2' not within [$3, $4] s"
    fi
}

# A TCP connection that sends nothing stays in the kernel (TCP_DEFER_ACCEPT, derived from the
# handshake timeout: a few seconds) before the handshake timeout starts; run it in the background
# while the others go.
timing silent >"$T/silent.out" &
silent=$!

within "slowloris head cut at header_timeout" "$(timing slowloris)" 1.5 5
r=$(timing idle)
within "idle HTTP/1.1 keep-alive closed at idle_timeout" "$r" 1.5 5
expect_match "idle: the request before was answered" "$r" 'HTTP/1.1 200'
expect_eq "requests every half second keep a connection alive past idle_timeout" "$(timing busy)" "0 200,200,200,200,200,200,200,200"
within "idle HTTP/2 connection closed at idle_timeout" "$(timing h2idle)" 1.5 5
within "HTTP/2 PINGs do not extend idle_timeout" "$(timing h2ping)" 1.5 5
within "partial ClientHello closed at handshake_timeout" "$(timing partial_hello)" 1.5 5
wait "$silent" || true
within "silent TCP connection closed (kernel defer + handshake_timeout)" "$(cat "$T/silent.out")" 1.5 10

check "moat still running" kill -0 "$MOAT_PID"
expect_eq "still serves" "$(mcurl -o /dev/null -w '%{http_code}' --resolve "a.moat.test:$HTTPS_PORT:127.0.0.1" \
    "https://a.moat.test:$HTTPS_PORT/")" 200
finish
