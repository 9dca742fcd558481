#!/usr/bin/env bash
# Abuse limits: edge.max_connections sheds connections beyond the limit while existing ones keep
# working; HTTP/2 floods (rapid reset, PING, SETTINGS, CONTINUATION, empty DATA) and protocol
# garbage end with GOAWAY while other clients keep being served. Raw HTTP/2 frames from python3.
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
max_connections = 20

[sites."a.moat.test"]
root = "$T/site"

[sites."127.0.0.1"]
root = "$T/site"
EOF
moat_start serve --config "$T/moat.toml"

cat > "$T/abuse.py" <<'PY'
import socket, ssl, struct, sys, time
case, port = sys.argv[1], int(sys.argv[2])

def tls(alpn="http/1.1", timeout=5):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname="a.moat.test")
    except BaseException:
        raw.close()
        raise

def get(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\n")
    s.settimeout(5)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf.split(b"\r\n")[0].decode(errors="replace")

# ---- HTTP/2 frames (RFC 9113 §4.1) ----
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4

def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload

# HPACK (RFC 7541): indexed :method GET (2), :scheme https (7), :path / (4), then :authority
# as a literal with indexed name (1), without indexing.
AUTH = b"a.moat.test"
REQUEST = b"\x82\x87\x84" + b"\x01" + bytes([len(AUTH)]) + AUTH

def h2():
    s = tls("h2")
    assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return s

def read_frames(s, limit=10):
    """Frames the server sends until it closes; returns [(type, flags, sid, payload)]."""
    s.settimeout(0.5)
    buf, t0 = b"", time.time()
    while time.time() - t0 < limit:
        try:
            b = s.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except (ssl.SSLError, OSError):
            break
        if not b:
            break
        buf += b
    frames = []
    while len(buf) >= 9:
        n = int.from_bytes(buf[0:3], "big")
        if len(buf) < 9 + n:
            break
        frames.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]))
        buf = buf[9 + n:]
    return frames

def goaway(frames):
    for t, _, _, p in frames:
        if t == GOAWAY:
            return "GOAWAY code=%d" % int.from_bytes(p[4:8], "big")
    return "no GOAWAY (%d frames)" % len(frames)

def send_flood(s, chunks):
    try:
        for c in chunks:
            s.sendall(c)
    except (ssl.SSLError, OSError):
        pass  # the server may close while we still write

if case == "connlimit":
    conns, shed, slow_shed = [], 0, 0
    for i in range(40):
        t0 = time.time()
        try:
            conns.append(tls())
        except (ssl.SSLError, OSError):
            shed += 1
            if time.time() - t0 > 2:
                slow_shed += 1
    first = get(conns[0]) if conns else "none"
    last = get(conns[-1]) if conns else "none"
    for c in conns:
        c.close()
    # The server frees the slots as its workers see the closes: retry (bounded) rather than
    # guess how long that takes; a server that never frees them still fails here.
    again, t0 = None, time.time()
    while again is None:
        try:
            again = get(tls())
        except (ssl.SSLError, OSError):
            if time.time() - t0 > 20:
                again = "still shed 20 s after the others closed"
            else:
                time.sleep(0.2)
    print("open=%d shed=%d slow_shed=%d first=%s last=%s after_close=%s" % (
        len(conns), shed, slow_shed, first, last, again))
elif case == "rapid_reset":
    s = h2()
    batch = b""
    for i in range(2000):
        sid = 1 + 2 * i
        batch += frame(HEADERS, END_HEADERS | END_STREAM, sid, REQUEST) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
        if len(batch) > 16384:
            send_flood(s, [batch])
            batch = b""
    send_flood(s, [batch])
    print(goaway(read_frames(s)))
elif case == "ping_flood":
    s = h2()
    send_flood(s, [frame(PING, 0, 0, struct.pack(">Q", i)) * 1 for i in range(3000)])
    print(goaway(read_frames(s)))
elif case == "settings_flood":
    s = h2()
    send_flood(s, [frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65535))] * 3000)
    print(goaway(read_frames(s)))
elif case == "continuation_flood":
    s = h2()
    chunks = [frame(HEADERS, 0, 1, REQUEST)]
    chunks += [frame(CONTINUATION, 0, 1, b"\x40\x01x\x01y")] * 100
    send_flood(s, chunks)
    print(goaway(read_frames(s)))
elif case == "empty_data_flood":
    s = h2()
    chunks = [frame(HEADERS, END_HEADERS, 1, REQUEST)] + [frame(DATA, 0, 1)] * 3000
    send_flood(s, chunks)
    print(goaway(read_frames(s)))
elif case == "garbage_after_preface":
    s = h2()
    send_flood(s, [b"\xff" * 64])
    print(goaway(read_frames(s)))
elif case == "data_on_stream_0":
    s = h2()
    send_flood(s, [frame(DATA, 0, 0, b"x")])
    print(goaway(read_frames(s)))
elif case == "no_preface":
    s = tls("h2")
    send_flood(s, [b"GET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\n"])
    print(goaway(read_frames(s)))
elif case == "h2_ok":
    # A well-behaved client: one request, reads the response headers.
    s = h2()
    s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, REQUEST))
    s.settimeout(0.5)
    buf, t0 = b"", time.time()
    status = "none"
    while time.time() - t0 < 5 and status == "none":
        try:
            buf += s.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        while len(buf) >= 9:
            n = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + n:
                break
            t, sid, p = buf[3], int.from_bytes(buf[5:9], "big"), buf[9:9 + n]
            buf = buf[9 + n:]
            if t == HEADERS and sid == 1:
                status = "200" if p[:1] == b"\x88" else "other:" + p[:1].hex()  # :status 200 is index 8
    print(status)
elif case == "tls_garbage":
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 100)
    raw.settimeout(5)
    try:
        got = raw.recv(100)
    except OSError as e:
        got = b""
    print("closed alert=%s" % (got[:1] == b"\x15"))
PY
abuse() { timeout 60 python3 "$T/abuse.py" "$1" "$HTTPS_PORT" 2>&1 || true; }
serves() { mcurl -o /dev/null -w '%{http_code}' --http2 --resolve "a.moat.test:$HTTPS_PORT:127.0.0.1" \
    "https://a.moat.test:$HTTPS_PORT/"; }

# ---- connection limit ----
expect_eq "max_connections=20: 20 open, 20 shed at once, old and new connections served" \
    "$(abuse connlimit)" "open=20 shed=20 slow_shed=0 first=HTTP/1.1 200 OK last=HTTP/1.1 200 OK after_close=HTTP/1.1 200 OK"
expect_eq "serves after the connection burst" "$(serves)" 200

# ---- HTTP/2 floods and garbage: GOAWAY, then others still served ----
expect_eq "well-behaved raw h2 client gets 200" "$(abuse h2_ok)" 200
ENHANCE_YOUR_CALM=11
PROTOCOL_ERROR=1
FRAME_SIZE_ERROR=6
for c in rapid_reset ping_flood settings_flood continuation_flood empty_data_flood; do
    expect_eq "h2 $c ends with GOAWAY ENHANCE_YOUR_CALM" "$(abuse $c)" "GOAWAY code=$ENHANCE_YOUR_CALM"
    expect_eq "serves other clients after $c" "$(serves)" 200
done
expect_eq "h2 garbage after the preface: GOAWAY FRAME_SIZE_ERROR" "$(abuse garbage_after_preface)" \
    "GOAWAY code=$FRAME_SIZE_ERROR"
expect_eq "h2 DATA on stream 0: GOAWAY PROTOCOL_ERROR" "$(abuse data_on_stream_0)" "GOAWAY code=$PROTOCOL_ERROR"
expect_eq "h2 without the client preface: GOAWAY PROTOCOL_ERROR" "$(abuse no_preface)" \
    "GOAWAY code=$PROTOCOL_ERROR"
expect_eq "garbage instead of a ClientHello: alert and close" "$(abuse tls_garbage)" "closed alert=True"
# Many floods at once from parallel clients, while a normal client keeps fetching.
floods=()
for i in 1 2 3 4; do abuse rapid_reset >"$T/par$i.out" & floods+=($!); done
for i in 1 2 3; do expect_eq "served during parallel floods ($i)" "$(serves)" 200; done
wait "${floods[@]}" || true
for i in 1 2 3 4; do expect_eq "parallel rapid reset $i: GOAWAY" "$(cat "$T/par$i.out")" "GOAWAY code=$ENHANCE_YOUR_CALM"; done
out=$(timeout 40 h2load -n 1000 -c 4 -m 10 "https://127.0.0.1:$HTTPS_PORT/assets/app.js" 2>&1 || true)
expect_match "h2load after the floods: 0 errors" "$out" '1000 succeeded, 0 failed, 0 errored'

check "moat still running" kill -0 "$MOAT_PID"
expect_eq "still serves" "$(serves)" 200
finish
