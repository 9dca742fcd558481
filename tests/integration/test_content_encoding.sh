#!/usr/bin/env bash
# Content codings end to end: variants made in the background (br, zstd, gzip), negotiation
# from Accept-Encoding with q-values, Vary, one ETag per coding, bodies that decompress to the
# original (brotli, zstd and gzip command-line tools), incompressible types left alone,
# precompressed sibling files, per-site switches, and a changed file never served from an old
# variant.
source "$(dirname "$0")/lib.sh"

for tool in brotli zstd gzip; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (scripts/install-deps.sh test)"; exit 1; }
done

HTTPS_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
mkdir -p "$T/data"

E="$T/enc"
mkdir -p "$E"
gen_text() { python3 -c "import sys; sys.stdout.write(''.join('%s line %05d, text that compresses well\n' % (sys.argv[1], i) for i in range(500)))" "$1"; }
gen_text text > "$E/text.txt"
gen_text css > "$E/style.css"
gen_text json > "$E/data.json"
gen_text svg > "$E/pic.svg"
gen_text change > "$E/change.txt"
# Compressible bytes behind incompressible types: the type decides, not the bytes.
python3 -c "import sys; sys.stdout.buffer.write(b'\x89PNG\r\n\x1a\n' + b'\0' * 20000)" > "$E/logo.png"
python3 -c "import sys; sys.stdout.buffer.write(b'wOF2' + b'\0' * 20000)" > "$E/font.woff2"
python3 -c "import sys; sys.stdout.buffer.write(b'\xff\xd8\xff' + b'\0' * 20000)" > "$E/photo.jpg"
printf 'tiny text\n' > "$E/small.txt"
# Precompressed siblings. Their content carries a marker so a response shows which bytes it is.
gen_text plain-pre > "$E/pre.js"
gen_text SIBLING > "$T/sibling.src"
brotli -c "$T/sibling.src" > "$E/pre.js.br"
zstd -q -c "$T/sibling.src" > "$E/pre.js.zst"
gzip -c "$T/sibling.src" > "$E/pre.js.gz"
gen_text plain-gzonly > "$E/gzonly.css"
gzip -c "$T/sibling.src" > "$E/gzonly.css.gz"
gen_text plain-old > "$E/old.js"
gzip -c "$T/sibling.src" > "$E/old.js.gz"
touch -d '2 hours ago' "$E/old.js.gz"

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "warn"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2
[sites."enc.test"]
root = "$E"
[sites."nocomp.test"]
root = "$E"
compress = false
precompressed = false
[sites."preonly.test"]
root = "$E"
compress = false
EOF
moat_start serve --config "$T/moat.toml"

N=0
# fetch HOST PATH [curl args...]: raw (still encoded) body in B, headers in H, status in ST.
fetch() {
    local host=$1 path=$2
    shift 2
    N=$((N + 1))
    H="$T/r$N.hdr" B="$T/r$N.body"
    ST=$(mcurl -o "$B" -D "$H.raw" -w '%{http_code}' --resolve "$host:$HTTPS_PORT:127.0.0.1" \
        "$@" "https://$host:$HTTPS_PORT$path" || echo 000)
    tr -d '\r' < "$H.raw" > "$H" 2>/dev/null || : > "$H"
    [ -f "$B" ] || : > "$B"
}
hv() { grep -i "^$1:" "${2:-$H}" | head -1 | cut -d: -f2- | sed 's/^ //' || true; }
hcount() { grep -ci "^$1:" "${2:-$H}" || true; }
# decode ENCODING FILE: the decompressed bytes on stdout.
decode() {
    case "$1" in
        br) brotli -d -c "$2" ;;
        zstd) zstd -q -d -c "$2" ;;
        gzip) gzip -d -c "$2" ;;
        "") cat "$2" ;;
        *) echo "unknown coding $1" >&2; return 1 ;;
    esac
}
# wait_for HOST PATH ENC: asks for ENC until the response uses it (up to ~30 s: the variants
# are made by one background thread, brotli 11 and zstd 19, on a possibly loaded machine).
wait_for() {
    local i
    for i in $(seq 300); do
        fetch "$1" "$2" -H "Accept-Encoding: $3"
        [ "$(hv content-encoding)" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- variants appear in the background ---
fetch enc.test /text.txt -H "Accept-Encoding: br, zstd, gzip"
expect_eq "first response is 200" "$ST" 200
cmp -s <(decode "$(hv content-encoding)" "$B") "$E/text.txt" && pass "first response decodes to the file" ||
    fail "first response decodes to the file"
for enc in br zstd gzip; do
    if wait_for enc.test /text.txt "$enc"; then pass "$enc variant made"; else fail "$enc variant never appeared"; fi
done

# --- negotiation ---
declare -A NEGO=(
    ["br;q=1, zstd;q=0.5"]=br
    ["br;q=1.0, zstd;q=0.5, gzip;q=0.2"]=br
    ["zstd;q=0.5, br;q=1"]=br
    ["gzip;q=0.5, zstd;q=0.9"]=zstd
    ["gzip"]=gzip
    ["x-gzip"]=gzip
    ["GZIP"]=gzip
    ["br;q=0, gzip"]=gzip
    ["br;q=0, zstd;q=0, gzip"]=gzip
    ["br, zstd, gzip"]=br
    ["gzip, zstd, br"]=br
    ["gzip;q=0.5, zstd;q=0.5, br;q=0.5"]=br
    ["gzip, deflate"]=gzip
    ["zstd"]=zstd
    ["identity"]=""
    ["identity;q=1, gzip;q=0.5"]=""
    ["identity;q=0, gzip;q=0.1"]=gzip
    ["deflate"]=""
    ["br;q=0, zstd;q=0, gzip;q=0"]=""
    ["*"]=br
    ["*;q=0.5, br;q=0"]=zstd
    ["gzip, *;q=0"]=gzip
    ["*;q=0"]=""
    ["br;q=0.5x, gzip;q=0.1"]=gzip
    ["br;q=2"]=""
    ["br ; q=0.8 ,gzip;q=0.9"]=gzip
    ["br;q=0.8,,gzip;q=0.9"]=gzip
    [","]=""
)
for proto in --http1.1 --http2; do
    p=${proto#--}
    for ae in "${!NEGO[@]}"; do
        fetch enc.test /text.txt "$proto" -H "Accept-Encoding: $ae"
        want=${NEGO[$ae]}
        expect_eq "$p AE '$ae'" "$ST $(hv content-encoding)" "200 $want"
        expect_eq "$p AE '$ae' vary" "$(hv vary)" Accept-Encoding
        if decode "$want" "$B" | cmp -s - "$E/text.txt"; then pass "$p AE '$ae' decodes"; else fail "$p AE '$ae' decodes"; fi
    done
    fetch enc.test /text.txt "$proto"
    expect_eq "$p no Accept-Encoding: identity" "$ST $(hcount content-encoding) $(hv vary)" "200 0 Accept-Encoding"
    cmp -s "$B" "$E/text.txt" && pass "$p identity bytes" || fail "$p identity bytes"
done
# curl --compressed (what browsers do: ask for everything, decode transparently).
for proto in --http1.1 --http2; do
    fetch enc.test /text.txt "$proto" --compressed
    expect_match "${proto#--} --compressed coding" "$(hv content-encoding)" '^(br|zstd|gzip)$'
    cmp -s "$B" "$E/text.txt" && pass "${proto#--} --compressed body" || fail "${proto#--} --compressed body"
done

# --- one strong ETag per coding; conditional requests per coding ---
declare -A TAG
for enc in identity br zstd gzip; do
    fetch enc.test /text.txt -H "Accept-Encoding: $enc"
    TAG[$enc]=$(hv etag)
    expect_match "etag for $enc is strong" "${TAG[$enc]}" '^"[^"]+"$'
    expect_eq "content-length for $enc" "$(hv content-length)" "$(wc -c < "$B" | tr -d ' ')"
done
distinct=$(printf '%s\n' "${TAG[@]}" | sort -u | wc -l | tr -d ' ')
expect_eq "four codings, four etags" "$distinct" 4
for enc in br zstd gzip; do
    fetch enc.test /text.txt -H "Accept-Encoding: $enc" -H "If-None-Match: ${TAG[$enc]}"
    expect_eq "304 for $enc with its etag" "$ST $(hv etag) $(hv vary)" "304 ${TAG[$enc]} Accept-Encoding"
    expect_eq "304 for $enc names its coding" "$(hv content-encoding)" "$enc"
    fetch enc.test /text.txt -H "Accept-Encoding: $enc" -H "If-None-Match: ${TAG[identity]}"
    expect_eq "$enc request with the identity etag -> 200" "$ST $(hv content-encoding)" "200 $enc"
done
fetch enc.test /text.txt -H "If-None-Match: ${TAG[br]}"
expect_eq "identity request with the br etag -> 200" "$ST $(hcount content-encoding)" "200 0"

# --- other compressible types ---
for path in /style.css /data.json /pic.svg; do
    if wait_for enc.test "$path" br; then
        if decode br "$B" | cmp -s - "$E$path"; then pass "$path br decodes"; else fail "$path br decodes"; fi
    else
        fail "$path never compressed"
    fi
done

# --- incompressible types and tiny files are never compressed ---
for path in /logo.png /font.woff2 /photo.jpg /small.txt; do
    fetch enc.test "$path" -H "Accept-Encoding: br, zstd, gzip"
done
sleep 2  # give the background compressor every chance
for path in /logo.png /font.woff2 /photo.jpg /small.txt; do
    for proto in --http1.1 --http2; do
        fetch enc.test "$path" "$proto" -H "Accept-Encoding: br, zstd, gzip"
        expect_eq "${proto#--} $path not compressed" "$ST $(hcount content-encoding)" "200 0"
        cmp -s "$B" "$E$path" && pass "${proto#--} $path bytes" || fail "${proto#--} $path bytes"
    done
done

# --- precompressed siblings ---
for proto in --http1.1 --http2; do
    p=${proto#--}
    for enc in br zstd gzip; do
        fetch enc.test /pre.js "$proto" -H "Accept-Encoding: $enc"
        expect_eq "$p pre.js $enc from the sibling" "$ST $(hv content-encoding)" "200 $enc"
        if decode "$enc" "$B" | cmp -s - "$T/sibling.src"; then pass "$p pre.js $enc is the sibling's bytes"; else fail "$p pre.js $enc is the sibling's bytes"; fi
        expect_eq "$p pre.js $enc content-type is the file's" "$(hv content-type)" "text/javascript; charset=utf-8"
        expect_eq "$p pre.js $enc vary" "$(hv vary)" Accept-Encoding
    done
    fetch enc.test /pre.js "$proto"
    cmp -s "$B" "$E/pre.js" && pass "$p pre.js identity" || fail "$p pre.js identity"
    fetch enc.test /gzonly.css "$proto" -H "Accept-Encoding: gzip"
    expect_eq "$p gzip-only sibling" "$(hv content-encoding)" gzip
    if decode gzip "$B" | cmp -s - "$T/sibling.src"; then pass "$p gzip-only sibling bytes"; else fail "$p gzip-only sibling bytes"; fi
    fetch enc.test /pre.js.br "$proto"
    expect_eq "$p a sibling is also a file" "$ST $(hcount content-encoding)" "200 0"
done
# A sibling older than its file is stale: never served.
fetch enc.test /old.js -H "Accept-Encoding: gzip"
sleep 1
fetch enc.test /old.js -H "Accept-Encoding: gzip"
if decode "$(hv content-encoding)" "$B" | cmp -s - "$E/old.js"; then pass "older sibling ignored"; else fail "older sibling served"; fi
# A sibling that appears later is picked up (within a second or two).
gen_text plain-late > "$E/late.js"
fetch preonly.test /late.js -H "Accept-Encoding: gzip"
expect_eq "no sibling yet, compress off: identity" "$(hcount content-encoding)" 0
gzip -c "$T/sibling.src" > "$E/late.js.gz"
if wait_for preonly.test /late.js gzip && decode gzip "$B" | cmp -s - "$T/sibling.src"; then
    pass "sibling added later is used"
else
    fail "sibling added later is not used"
fi

# --- per-site switches ---
fetch nocomp.test /pre.js -H "Accept-Encoding: br, zstd, gzip"
expect_eq "precompressed=false ignores siblings" "$ST $(hcount content-encoding)" "200 0"
cmp -s "$B" "$E/pre.js" && pass "precompressed=false bytes" || fail "precompressed=false bytes"
fetch nocomp.test /text.txt -H "Accept-Encoding: br, zstd, gzip"
expect_eq "compress=false: identity" "$ST $(hcount content-encoding)" "200 0"
fetch preonly.test /text.txt -H "Accept-Encoding: br"
expect_eq "compress=false, no sibling: identity" "$ST $(hcount content-encoding)" "200 0"
fetch preonly.test /pre.js -H "Accept-Encoding: br"
expect_eq "compress=false, sibling present: sibling" "$ST $(hv content-encoding)" "200 br"
# enc.test still compresses after the other sites looked at the same files.
fetch enc.test /text.txt -H "Accept-Encoding: br"
expect_eq "shared root: enc.test still gets br" "$(hv content-encoding)" br

# --- a changed file is never served from an old variant ---
# fresh WANT HOST PATH [curl args...]: fetch until the body decodes to the bytes of the file
# WANT (10 s at most). moat learns of a change from its inotify watcher thread
# (content/file_cache.h): a request that starts before that thread has counted the event may
# still get the version before, and two busy cores were seen to leave the thread unscheduled
# that long. Once one response is new, every later one must be: those are checked as they come.
fresh() {
    local want=$1 i
    shift
    for i in $(seq 100); do
        fetch "$@"
        decode "$(hv content-encoding)" "$B" 2>/dev/null | cmp -s - "$want" && return 0
        sleep 0.1
    done
}
if wait_for enc.test /change.txt br; then pass "change.txt br made"; else fail "change.txt br never made"; fi
OLD_BR=$(hv etag)
gen_text CHANGED > "$T/change.new"
mv "$T/change.new" "$E/change.txt"
fresh "$E/change.txt" enc.test /change.txt
for enc in br zstd gzip identity; do
    fetch enc.test /change.txt -H "Accept-Encoding: $enc"
    got=$(hv content-encoding)
    if decode "$got" "$B" | cmp -s - "$E/change.txt"; then pass "after rename, $enc -> '$got' is the new file"; else fail "after rename, $enc -> '$got' is stale"; fi
done
fetch enc.test /change.txt -H "Accept-Encoding: br" -H "If-None-Match: $OLD_BR"
expect_eq "old br etag does not match the new file" "$ST" 200
# In place, same size.
if wait_for enc.test /change.txt br; then pass "new br made"; else fail "new br never made"; fi
python3 - "$E/change.txt" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    f.write(b"INPLACE")
EOF
fresh "$E/change.txt" enc.test /change.txt
for enc in br zstd gzip; do
    fetch enc.test /change.txt -H "Accept-Encoding: $enc"
    got=$(hv content-encoding)
    if decode "$got" "$B" | cmp -s - "$E/change.txt"; then pass "after in-place edit, $enc -> '$got' is the new file"; else fail "after in-place edit, $enc -> '$got' is stale"; fi
done
# A sibling replaced by a newer one is served, not the old.
gen_text SIBLING2 > "$T/sibling2.src"
sleep 0.05
brotli -c "$T/sibling2.src" > "$T/pre.js.br.new"
mv "$T/pre.js.br.new" "$E/pre.js.br"
fresh "$T/sibling2.src" enc.test /pre.js -H "Accept-Encoding: br"
if decode br "$B" | cmp -s - "$T/sibling2.src"; then pass "replaced sibling served"; else fail "replaced sibling not served"; fi
# A sibling removed is no longer served.
rm "$E/pre.js.zst"
fresh "$E/pre.js" enc.test /pre.js -H "Accept-Encoding: zstd"
got=$(hv content-encoding)
if decode "$got" "$B" | cmp -s - "$E/pre.js"; then pass "removed sibling not served ('$got')"; else fail "removed sibling still served ('$got')"; fi

finish
