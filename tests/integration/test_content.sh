#!/usr/bin/env bash
# Content end to end through the real binary: Content-Type per extension, validators and
# conditional requests, byte ranges, HEAD, large files over HTTP/1.1 and HTTP/2 (curl and
# nghttp), and files changed on disk never served stale. Compression is in
# test_content_encoding.sh.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
mkdir -p "$T/data"

C="$T/c"
make_site "$C" CONTENT
for ext in css js mjs json svg png woff2 wasm txt xml webp pdf jpg ico csv md XYZ; do
    printf 'content of a .%s file, long enough to be worth talking about\n' "$ext" > "$C/file.$ext"
done
printf 'no extension\n' > "$C/noext"
printf 'upper case extension\n' > "$C/UPPER.HTML"
head -c 1000 /dev/urandom > "$C/range.bin"
python3 -c "import sys; sys.stdout.write(''.join('line %05d of a text file that compresses well\n' % i for i in range(400)))" > "$C/text.txt"
printf 'version-A-0123456789\n' > "$C/inplace.txt"
printf 'version-A-0123456789\n' > "$C/renamed.txt"
printf 'version-A-0123456789\n' > "$C/touched.txt"

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "warn"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2
[sites."content.test"]
root = "$C"
EOF
moat_start serve --config "$T/moat.toml"

N=0
# fetch PATH [curl args...]: sets ST, H (headers, CR stripped), B (body file).
fetch() {
    local path=$1
    shift
    N=$((N + 1))
    H="$T/r$N.hdr" B="$T/r$N.body"
    ST=$(mcurl -o "$B" -D "$H.raw" -w '%{http_code}' --resolve "content.test:$HTTPS_PORT:127.0.0.1" \
        "$@" "https://content.test:$HTTPS_PORT$path" || echo 000)
    tr -d '\r' < "$H.raw" > "$H" 2>/dev/null || : > "$H"
}
hv() { grep -i "^$1:" "${2:-$H}" | head -1 | cut -d: -f2- | sed 's/^ //' || true; }
hcount() { grep -ci "^$1:" "${2:-$H}" || true; }
size() { if [ -f "$1" ]; then wc -c < "$1" | tr -d ' '; else echo 0; fi; }
same() { if cmp -s "$2" "$3"; then pass "$1"; else fail "$1: bytes differ"; fi; }
# slice FILE OFFSET LENGTH: those bytes of the file, to compare with a range response.
slice() { dd if="$1" iflag=skip_bytes,count_bytes bs=65536 skip="$2" count="$3" status=none; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
sec_basic() {
    local bad=""
    [ "$(hv strict-transport-security)" = "max-age=63072000" ] || bad+=" hsts"
    [ -n "$(hv content-security-policy)" ] || bad+=" csp"
    [ "$(hv x-content-type-options)" = nosniff ] || bad+=" xcto"
    [ "$(hv x-frame-options)" = DENY ] || bad+=" xfo"
    [ -n "$(hv referrer-policy)" ] || bad+=" referrer"
    [ -n "$(hv permissions-policy)" ] || bad+=" permissions"
    [ -n "$(hv cross-origin-opener-policy)" ] || bad+=" coop"
    [ -n "$(hv cross-origin-resource-policy)" ] || bad+=" corp"
    [ "$(hcount server)" = 0 ] || bad+=" server"
    if [ -z "$bad" ]; then pass "$1: security headers"; else fail "$1: security headers:$bad"; fi
}

# --- Content-Type per extension ---
declare -A TYPES=(
    [/index.html]="text/html; charset=utf-8"
    [/UPPER.HTML]="text/html; charset=utf-8"
    [/file.css]="text/css; charset=utf-8"
    [/file.js]="text/javascript; charset=utf-8"
    [/file.mjs]="text/javascript; charset=utf-8"
    [/file.txt]="text/plain; charset=utf-8"
    [/file.csv]="text/csv; charset=utf-8"
    [/file.md]="text/markdown; charset=utf-8"
    [/file.json]="application/json"
    [/file.xml]="application/xml"
    [/file.svg]="image/svg+xml"
    [/file.png]="image/png"
    [/file.jpg]="image/jpeg"
    [/file.webp]="image/webp"
    [/file.ico]="image/x-icon"
    [/file.woff2]="font/woff2"
    [/file.wasm]="application/wasm"
    [/file.pdf]="application/pdf"
    [/file.XYZ]="application/octet-stream"
    [/noext]="application/octet-stream"
    [/range.bin]="application/octet-stream"
)
for proto in --http1.1 --http2; do
    for path in "${!TYPES[@]}"; do
        fetch "$path" "$proto"
        expect_eq "${proto#--} content-type $path" "$ST $(hv content-type)" "200 ${TYPES[$path]}"
        expect_eq "${proto#--} one content-type $path" "$(hcount content-type)" 1
    done
done

# --- validators ---
F="$C/text.txt"
for proto in --http1.1 --http2; do
    p=${proto#--}
    fetch /text.txt "$proto"
    same "$p text.txt bytes" "$B" "$F"
    ETAG=$(hv etag)
    LM=$(hv last-modified)
    expect_match "$p strong etag" "$ETAG" '^"[A-Za-z0-9_-]+"$'
    expect_eq "$p last-modified is the file's mtime" "$LM" "$(date -u -r "$F" '+%a, %d %b %Y %H:%M:%S GMT')"
    expect_eq "$p content-length" "$(hv content-length)" "$(size "$F")"
    expect_eq "$p accept-ranges" "$(hv accept-ranges)" bytes
    fetch /text.txt "$proto"
    expect_eq "$p etag is stable" "$(hv etag)" "$ETAG"

    # If-None-Match / If-Modified-Since -> 304 with the same fields, no body.
    for inm in "$ETAG" "\"nope\", $ETAG" "W/$ETAG" "*"; do
        fetch /text.txt "$proto" -H "If-None-Match: $inm"
        expect_eq "$p INM '$inm' -> 304" "$ST" 304
        expect_eq "$p 304 has no body" "$(size "$B")" 0
    done
    expect_eq "$p 304 etag" "$(hv etag)" "$ETAG"
    expect_eq "$p 304 vary" "$(hv vary)" Accept-Encoding
    expect_eq "$p 304 cache-control" "$(hv cache-control)" "public, max-age=3600"
    sec_basic "$p 304"
    fetch /text.txt "$proto" -H 'If-None-Match: "other"'
    expect_eq "$p INM other -> 200" "$ST" 200
    same "$p INM other body" "$B" "$F"
    fetch /text.txt "$proto" -H "If-Modified-Since: $LM"
    expect_eq "$p IMS = Last-Modified -> 304" "$ST:$(hv etag)" "304:$ETAG"
    sec_basic "$p 304 (IMS)"
    fetch /text.txt "$proto" -H "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"
    expect_eq "$p IMS old -> 200" "$ST" 200
    fetch /text.txt "$proto" -H 'If-None-Match: "other"' -H "If-Modified-Since: $LM"
    expect_eq "$p INM wins over IMS" "$ST" 200
    fetch /text.txt "$proto" -H "If-Modified-Since: not a date"
    expect_eq "$p IMS garbage ignored" "$ST" 200
    fetch /text.txt "$proto" -H 'If-Match: "other"'
    expect_eq "$p If-Match other -> 412" "$ST" 412
    fetch /text.txt "$proto" -H "If-Match: $ETAG"
    expect_eq "$p If-Match same -> 200" "$ST" 200
    fetch /text.txt "$proto" -I -H "If-None-Match: $ETAG"
    expect_eq "$p HEAD INM -> 304" "$ST" 304
done

# --- ranges (range.bin: 1000 random bytes, never compressed) ---
R="$C/range.bin"
fetch /range.bin
RETAG=$(hv etag)
for proto in --http1.1 --http2; do
    p=${proto#--}
    fetch /range.bin "$proto" -H "Range: bytes=0-99"
    expect_eq "$p 0-99 status" "$ST" 206
    expect_eq "$p 0-99 content-range" "$(hv content-range)" "bytes 0-99/1000"
    expect_eq "$p 0-99 content-length" "$(hv content-length)" 100
    expect_eq "$p 0-99 etag" "$(hv etag)" "$RETAG"
    slice "$R" 0 100 > "$T/want"
    same "$p 0-99 bytes" "$B" "$T/want"
    sec_basic "$p 206"
    fetch /range.bin "$proto" -H "Range: bytes=-100"
    expect_eq "$p suffix range" "$ST $(hv content-range)" "206 bytes 900-999/1000"
    slice "$R" 900 100 > "$T/want"
    same "$p suffix bytes" "$B" "$T/want"
    fetch /range.bin "$proto" -H "Range: bytes=990-"
    expect_eq "$p open-ended range" "$ST $(hv content-range)" "206 bytes 990-999/1000"
    slice "$R" 990 10 > "$T/want"
    same "$p open-ended bytes" "$B" "$T/want"
    fetch /range.bin "$proto" -H "Range: bytes=500-5000"
    expect_eq "$p range past the end is clamped" "$ST $(hv content-range)" "206 bytes 500-999/1000"
    fetch /range.bin "$proto" -H "Range: bytes=-5000"
    expect_eq "$p suffix longer than the file" "$ST $(hv content-range)" "206 bytes 0-999/1000"
    fetch /range.bin "$proto" -H "Range: bytes=123-123"
    slice "$R" 123 1 > "$T/want"
    expect_eq "$p one byte" "$ST $(hv content-range)" "206 bytes 123-123/1000"
    same "$p one byte body" "$B" "$T/want"
    fetch /range.bin "$proto" -H "Range: bytes=1000-"
    expect_eq "$p unsatisfiable" "$ST $(hv content-range)" "416 bytes */1000"
    sec_basic "$p 416"
    fetch /range.bin "$proto" -H "Range: bytes=5000-6000"
    expect_eq "$p unsatisfiable (2)" "$ST $(hv content-range)" "416 bytes */1000"
    fetch /range.bin "$proto" -H "Range: bytes=0-9,20-29"
    expect_eq "$p multiple ranges -> 200" "$ST $(hcount content-range)" "200 0"
    same "$p multiple ranges full body" "$B" "$R"
    fetch /range.bin "$proto" -H "Range: bytes=9-5"
    expect_eq "$p invalid range ignored" "$ST" 200
    fetch /range.bin "$proto" -H "Range: items=0-5"
    expect_eq "$p other unit ignored" "$ST" 200
    fetch /range.bin "$proto" -H "Range: bytes=0-99" -H "If-Range: $RETAG"
    expect_eq "$p If-Range same etag -> 206" "$ST $(hv content-range)" "206 bytes 0-99/1000"
    fetch /range.bin "$proto" -H "Range: bytes=0-99" -H 'If-Range: "something-else"'
    expect_eq "$p If-Range other etag -> 200" "$ST $(hcount content-range)" "200 0"
    same "$p If-Range other etag full body" "$B" "$R"
    fetch /range.bin "$proto" -H "Range: bytes=0-99" -H "If-Range: W/$RETAG"
    expect_eq "$p If-Range weak etag -> 200" "$ST" 200
    fetch /range.bin "$proto" -I -H "Range: bytes=0-99"
    expect_eq "$p HEAD ignores Range" "$ST $(hv content-length)" "200 1000"
    # A compressible file: ranges are over the identity bytes whatever Accept-Encoding says.
    fetch /text.txt "$proto" -H "Range: bytes=100-199" -H "Accept-Encoding: br, zstd, gzip"
    slice "$F" 100 100 > "$T/want"
    expect_eq "$p range on compressible file" "$ST $(hcount content-encoding) $(hv content-range)" \
        "206 0 bytes 100-199/$(size "$F")"
    same "$p range on compressible file bytes" "$B" "$T/want"
done

# --- HEAD: headers and Content-Length, no body ---
for proto in --http1.1 --http2; do
    p=${proto#--}
    fetch /text.txt "$proto" -I
    expect_eq "$p HEAD status" "$ST" 200
    expect_eq "$p HEAD content-length" "$(hv content-length)" "$(size "$F")"
    expect_eq "$p HEAD content-type" "$(hv content-type)" "text/plain; charset=utf-8"
    expect_match "$p HEAD etag" "$(hv etag)" '^"'
    sec_basic "$p HEAD"
    expect_eq "$p HEAD downloads nothing" "$(mcurl "$proto" -I -o /dev/null -w '%{size_download}' \
        --resolve "content.test:$HTTPS_PORT:127.0.0.1" "https://content.test:$HTTPS_PORT/big.bin")" 0
done
# At the byte level: HTTP/1.1 (nothing after the head) and HTTP/2 (no DATA payload).
cat > "$T/head.py" <<'EOF'
import socket, ssl, sys
port, ca, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", port), timeout=5) as s, \
        ctx.wrap_socket(s, server_hostname="content.test") as t:
    t.sendall(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: content.test\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        try:
            c = t.recv(65536)
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            break
        if not c:
            break
        data += c
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(), len(rest))
EOF
expect_eq "h1 HEAD small: nothing after the head" "$(timeout 10 python3 "$T/head.py" "$HTTPS_PORT" "$CA" /text.txt)" "HTTP/1.1 200 OK 0"
expect_eq "h1 HEAD big: nothing after the head" "$(timeout 10 python3 "$T/head.py" "$HTTPS_PORT" "$CA" /big.bin)" "HTTP/1.1 200 OK 0"
NGH=(timeout 15 nghttp -H ":authority: content.test")
out=$("${NGH[@]}" -v -H ':method: HEAD' "https://127.0.0.1:$HTTPS_PORT/big.bin" 2>&1 || true)
expect_match "h2 HEAD status" "$out" ':status: 200'
expect_match "h2 HEAD content-length" "$out" 'content-length: 3000000'
expect_no_match "h2 HEAD sends no DATA payload" "$out" 'recv DATA frame <length=[1-9]'

# --- a large file (3 MB, streamed from disk) intact over h1 and h2, and a range inside it ---
BIG="$C/big.bin"
for proto in --http1.1 --http2; do
    p=${proto#--}
    fetch /big.bin "$proto" --max-time 30
    expect_eq "$p big status" "$ST $(hv content-length)" "200 3000000"
    expect_eq "$p big sha256" "$(sha "$B")" "$(sha "$BIG")"
    fetch /big.bin "$proto" -H "Range: bytes=1500000-1600499"
    expect_eq "$p big range" "$ST $(hv content-range)" "206 bytes 1500000-1600499/3000000"
    slice "$BIG" 1500000 100500 > "$T/want"
    same "$p big range bytes" "$B" "$T/want"
done
"${NGH[@]}" "https://127.0.0.1:$HTTPS_PORT/big.bin" > "$T/ngh.big" 2>"$T/ngh.err" || true
expect_eq "nghttp big sha256" "$(sha "$T/ngh.big")" "$(sha "$BIG")"
# Several concurrent streams of the big file on one h2 connection.
"${NGH[@]}" -n -s "https://127.0.0.1:$HTTPS_PORT/big.bin?a" "https://127.0.0.1:$HTTPS_PORT/big.bin?b" \
    "https://127.0.0.1:$HTTPS_PORT/text.txt" > "$T/ngh.stat" 2>&1 || true
expect_eq "nghttp 2 concurrent big streams" "$(grep -cE ' 200 +[0-9.]+M /big\.bin\?[ab]$' "$T/ngh.stat" || true)" 2
expect_eq "nghttp concurrent small stream" "$(grep -cE ' 200 +[0-9.]+K? /text\.txt$' "$T/ngh.stat" || true)" 1

# --- never stale ---
# fetch_fresh WANT PATH [curl args...]: fetch until the body is the bytes of the file WANT (2 s
# at most). moat learns of a change from its inotify watcher thread (content/file_cache.h): a
# request that starts before that thread has counted the event may still get the version
# before, and two busy cores were seen to leave the thread unscheduled that long (1 in 500
# rewrite-then-GET pairs). Once one response is new, every later one must be: those are
# checked with plain fetches.
fetch_fresh() {
    local want=$1 i
    shift
    for i in $(seq 20); do
        fetch "$@"
        cmp -s "$B" "$want" && return 0
        sleep 0.1
    done
}
# In place, same size: new bytes and a new ETag on the next response.
fetch /inplace.txt
E1=$(hv etag)
printf 'version-B-0123456789\n' | dd of="$C/inplace.txt" conv=notrunc status=none
fetch_fresh "$C/inplace.txt" /inplace.txt
expect_eq "in-place rewrite: new bytes" "$(cat "$B")" "version-B-0123456789"
E2=$(hv etag)
[ -n "$E2" ] && [ "$E1" != "$E2" ] && pass "in-place rewrite: new etag" || fail "in-place rewrite: etag $E1 -> $E2"
fetch /inplace.txt -H "If-None-Match: $E1"
expect_eq "in-place rewrite: old etag no longer matches" "$ST" 200
# In place, same size, and the mtime put back: only ctime tells.
fetch /touched.txt
E1=$(hv etag)
touch -r "$C/touched.txt" "$T/mtime.ref"
sleep 0.05
printf 'version-C-0123456789\n' | dd of="$C/touched.txt" conv=notrunc status=none
touch -r "$T/mtime.ref" "$C/touched.txt"
expect_eq "mtime restored to the nanosecond" "$(stat -c %y "$C/touched.txt")" "$(stat -c %y "$T/mtime.ref")"
fetch_fresh "$C/touched.txt" /touched.txt
expect_eq "rewrite with mtime restored: new bytes" "$(cat "$B")" "version-C-0123456789"
[ "$E1" != "$(hv etag)" ] && pass "rewrite with mtime restored: new etag" || fail "rewrite with mtime restored: same etag"
# Via rename (how deploy tools publish).
fetch /renamed.txt
E1=$(hv etag)
printf 'version-D-0123456789\n' > "$C/.renamed.tmp"
mv "$C/.renamed.tmp" "$C/renamed.txt"
fetch_fresh "$C/renamed.txt" /renamed.txt
expect_eq "rename: new bytes" "$(cat "$B")" "version-D-0123456789"
[ "$E1" != "$(hv etag)" ] && pass "rename: new etag" || fail "rename: same etag"
fetch /renamed.txt --http2
expect_eq "rename: new bytes over h2" "$(cat "$B")" "version-D-0123456789"
# Several quick rewrites in a row, each seen at once.
for v in 1 2 3 4 5; do
    printf 'quick-%s-0123456789AB\n' "$v" | dd of="$C/inplace.txt" conv=notrunc status=none
    fetch_fresh "$C/inplace.txt" /inplace.txt
    expect_eq "quick rewrite $v" "$(cat "$B")" "quick-$v-0123456789AB"
done
# A large file (streamed from an open descriptor) changed in place and replaced.
fetch /big.bin
E1=$(hv etag)
printf 'CHANGED-IN-THE-MIDDLE' | dd of="$BIG" bs=1 seek=1500000 conv=notrunc status=none
fetch_fresh "$BIG" /big.bin --max-time 30
expect_eq "big in-place change: new sha256" "$(sha "$B")" "$(sha "$BIG")"
fetch /big.bin -H "Range: bytes=1500000-1500020"
expect_eq "big in-place change: range sees it" "$ST $(cat "$B")" "206 CHANGED-IN-THE-MIDDLE"
head -c 2000000 /dev/urandom > "$C/.big.tmp"
mv "$C/.big.tmp" "$BIG"
fetch_fresh "$BIG" /big.bin --http2 --max-time 30
expect_eq "big replaced: new length and sha256" "$(hv content-length) $(sha "$B")" "2000000 $(sha "$BIG")"
# A file removed is gone; a file added appears.
rm "$C/file.csv"
for _ in $(seq 100); do fetch /file.csv; [ "$ST" = 404 ] && break; sleep 0.1; done
expect_eq "removed file -> 404" "$ST" 404
printf 'brand new\n' > "$C/new.txt"
fetch_fresh "$C/new.txt" /new.txt
expect_eq "added file -> 200" "$ST $(cat "$B")" "200 brand new"

finish
