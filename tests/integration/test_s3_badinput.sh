#!/usr/bin/env bash
# Bad input to the S3 API, hand-signed (SigV4 from botocore) and sent on raw TLS sockets so
# nothing in a client library cleans it up first: malformed, hostile (XXE) and huge XML, empty,
# over-long and invalid-UTF-8 keys, keys with "..", wrong and invalid Content-MD5, truncated
# aws-chunked and HTTP bodies. Each gets its S3 error, nothing is stored, and the server keeps
# serving.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config
s3_demo_up

cat > "$T/bad.py" <<'PY'
import base64, hashlib, re, socket, ssl, sys, zlib
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

port, ca, ak, sk = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
creds = Credentials(ak, sk)
ctx = ssl.create_default_context(cafile=ca)
fails = 0

class Auth(S3SigV4Auth):
    """SigV4 with the x-amz-content-sha256 value we choose (streaming modes included)."""
    def __init__(self, payload):
        super().__init__(creds, "s3", "us-east-1")
        self.p = payload
    def payload(self, request):
        return self.p

def ok(name, cond, detail=""):
    global fails
    print(("ok: " if cond else "FAIL: ") + name + ("" if cond else f" ({detail})"))
    fails += 0 if cond else 1

def request(method, path, query="", headers=None, body=b"", payload="UNSIGNED-PAYLOAD",
            send_len=None, close_early=False):
    """path and query percent-encoded as sent. Returns (status, body) or None if cut short."""
    url = f"https://localhost:{port}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=b"", headers=dict(headers or {}))
    Auth(payload).add_auth(req)
    lines = [f"{method} {path}{'?' + query if query else ''} HTTP/1.1", f"Host: localhost:{port}"]
    for k, v in req.headers.items():
        if k.lower() != "host":
            lines.append(f"{k}: {v}")
    lines.append(f"Content-Length: {len(body) if send_len is None else send_len}")
    lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                        server_hostname="localhost")
    s.sendall(raw)
    if close_early:
        # Hang up mid-body, then wait until the server has closed its side too: only then has it
        # finished with the request, and a check that nothing was stored means something.
        # (SSLSocket.shutdown drops TLS: what follows reads raw bytes until the server's FIN.)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except (OSError, ssl.SSLError):
            pass
        s.close()
        return None
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, rest.decode("utf-8", "replace")

def code(resp):
    m = re.search(r"<Code>([^<]*)</Code>", resp[1])
    return m.group(1) if m else ""

def expect(name, resp, status, err):
    ok(name, resp[0] == status and code(resp) == err, f"got {resp[0]} {code(resp)!r}")

def stored(path):
    return request("HEAD", path)[0] == 200

def md5(b):
    return base64.b64encode(hashlib.md5(b).digest()).decode()

B = "/content/testing/bad"
# ---- XML documents ----
doc = b"<Delete><Object><Key>x</Key></Object>"
expect("unclosed XML", request("POST", "/content", "delete", {"Content-MD5": md5(doc)}, doc), 400, "MalformedXML")
doc = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&e;</Key></Object></Delete>'
expect("XXE refused", request("POST", "/content", "delete", {"Content-MD5": md5(doc)}, doc), 400, "MalformedXML")
doc = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>"
expect("1001 keys", request("POST", "/content", "delete", {"Content-MD5": md5(doc)}, doc), 400, "MalformedXML")
doc = b"<LifecycleConfiguration>" + b" " * (2 << 20) + b"</LifecycleConfiguration>"
expect("2 MiB lifecycle", request("PUT", "/content", "lifecycle", {"Content-MD5": md5(doc)}, doc), 400, "MalformedXML")
before = request("GET", "/content", "lifecycle")  # the store's default rules
doc = b"<LifecycleConfiguration><Rule><Status>Enabled</Status></Rule></LifecycleConfiguration>"
expect("rule without action", request("PUT", "/content", "lifecycle", {"Content-MD5": md5(doc)}, doc), 400, "InvalidArgument")
ok("lifecycle unchanged", request("GET", "/content", "lifecycle") == before)
doc = b"<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>"
expect("bad versioning", request("PUT", "/content", "versioning", {}, doc), 400, "MalformedXML")
doc = b"<Delete><Object><Key>x</Key></Object></Delete>"
expect("DeleteObjects without Content-MD5", request("POST", "/content", "delete", {}, doc), 400, "InvalidRequest")

# ---- keys ----
r = request("PUT", "/content/", "", {}, b"data")
ok("empty key is not an object PUT", r[0] >= 400, r)
expect("1025-byte key", request("PUT", "/content/" + "k" * 1025, "", {}, b"x"), 400, "KeyTooLongError")
expect("invalid UTF-8 key", request("PUT", "/content/testing/%FF%FE", "", {}, b"x"), 400, "InvalidArgument")
# The listener itself refuses a malformed escape in the request-target (a plain 400).
r = request("PUT", "/content/testing/%G1", "", {}, b"x")
ok("bad percent-escape", r[0] == 400, r)
for key in ["testing/../../etc/passwd", "testing/./a//b/..", "testing/..", "testing/.../x"]:
    body = ("opaque " + key).encode()
    r = request("PUT", "/content/" + key, "", {}, body)
    g = request("GET", "/content/" + key)
    ok(f"key {key!r} stored and read back exactly", r[0] == 200 and g == (200, body.decode()), (r, g))
lst = request("GET", "/content", "list-type=2&prefix=testing%2F..%2F")
ok("'..' key listed as is", "<Key>testing/../../etc/passwd</Key>" in lst[1], lst)

# ---- bodies ----
expect("wrong Content-MD5", request("PUT", B + "1", "", {"Content-MD5": md5(b"other")}, b"data"), 400, "BadDigest")
ok("nothing stored after BadDigest", not stored(B + "1"))
expect("invalid Content-MD5", request("PUT", B + "2", "", {"Content-MD5": "not-base64!"}, b"data"), 400, "InvalidDigest")
ok("nothing stored after InvalidDigest", not stored(B + "2"))
data = b"x" * 1000
crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
chunked = b"3e8\r\n" + data + b"\r\n0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
hdrs = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "1000",
        "x-amz-trailer": "x-amz-checksum-crc32"}
r = request("PUT", B + "3", "", hdrs, chunked, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
ok("complete aws-chunked body stored", r[0] == 200 and stored(B + "3"), r)
r = request("PUT", B + "4", "", hdrs, chunked[:600], payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
ok("truncated aws-chunked body refused", r[0] == 400, r)
ok("nothing stored after truncated aws-chunked body", not stored(B + "4"))
bad_crc = chunked.replace(crc.encode(), base64.b64encode(b"\0\0\0\0"))
r = request("PUT", B + "5", "", hdrs, bad_crc, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
ok("wrong trailer checksum refused", r[0] == 400 and code(r) == "BadDigest", r)
ok("nothing stored after wrong trailer checksum", not stored(B + "5"))
request("PUT", B + "6", "", {}, b"short", send_len=100000, close_early=True)
ok("nothing stored after the peer hung up mid-body", not stored(B + "6"))
sha = hashlib.sha256(b"signed").hexdigest()
r = request("PUT", B + "7", "", {}, b"tampered", payload=sha)
ok("x-amz-content-sha256 mismatch refused", r[0] == 400 and code(r) == "XAmzContentSHA256Mismatch", r)
ok("nothing stored after a hash mismatch", not stored(B + "7"))

# ---- still serving ----
r = request("GET", "/")
ok("server still serves after all that", r[0] == 200 and "<Name>content</Name>" in r[1], r)
sys.exit(1 if fails else 0)
PY
# ---- a bad [s3] section: every error with file:line:col, exit 2 ----
printf '[s3]\nlisten = ["localhost:9000"]\nhosts = ["bad host"]\nregion = "US_EAST"\nmax_connections = 0\ntypo = 1\n' \
    > "$T/bad-s3.toml"
set +e
OUT=$("$MOAT" config check "$T/bad-s3.toml" 2>&1)
RC=$?
set -e
expect_eq "config check exit code" "$RC" 2
expect_match "listen names refused" "$OUT" "bad-s3.toml:2:[0-9]+: s3.listen\[0\]"
expect_match "bad host refused" "$OUT" "bad-s3.toml:3:[0-9]+: s3.hosts\[0\]"
expect_match "bad region refused" "$OUT" "bad-s3.toml:4:[0-9]+: s3.region"
expect_match "max_connections range" "$OUT" "bad-s3.toml:5:[0-9]+: s3.max_connections"
expect_match "unknown key" "$OUT" "bad-s3.toml:6:1: s3.typo: unknown key"

check "bad input" timeout 150 python3 "$T/bad.py" "$S3_PORT" "$CA" "$AK" "$SK"
if kill -0 "$MOAT_PID"; then pass "server still running"; else fail "server died"; fi
finish
