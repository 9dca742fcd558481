#!/usr/bin/env bash
# Paths can never leave the site's root: traversal in every spelling (plain, percent-encoded,
# double-encoded, overlong UTF-8, backslashes, NUL, ";" tricks), over HTTP/1.1 and HTTP/2 with
# curl --path-as-is and as raw request lines; percent-decoding happens exactly once; dotfiles
# are hidden except /.well-known/; symlinks out of the root are refused, inside it they work;
# folders are never listed; special files never hang the server.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
mkdir -p "$T/data"

# The root is $T/www/root. Secrets sit next to it, above it, and in a sibling folder whose name
# starts with the root's name (a prefix-check bug would let /../root-evil/ through).
W="$T/www"
R="$W/root"
make_site "$R" ROOTSITE
mkdir -p "$W/root-evil" "$T/outside"
printf 'TOPSECRET-next-to-root\n' > "$W/secret.txt"
printf 'TOPSECRET-above-root\n' > "$T/secret.txt"
printf 'TOPSECRET-prefix-sibling\n' > "$W/root-evil/secret.txt"
printf 'TOPSECRET-outside-dir\n' > "$T/outside/secret.txt"
printf 'TOPSECRET-outside-dir-index\n' > "$T/outside/index.html"
# Decoding exactly once: "/a%2541.txt" is the file "a%41.txt", never "aA.txt".
printf 'decoded-once\n' > "$R/a%41.txt"
printf 'decoded-twice\n' > "$R/aA.txt"
printf 'space ok\n' > "$R/hello world.txt"
printf 'semicolon file\n' > "$R/semi;colon.txt"
mkdir -p "$R/.git" "$R/docs/.private"
printf 'TOPSECRET-git\n' > "$R/.git/config"
printf 'TOPSECRET-hidden\n' > "$R/docs/.hidden"
printf 'TOPSECRET-private\n' > "$R/docs/.private/x.txt"
printf 'TOPSECRET-wk-dotfile\n' > "$R/.well-known/.htpasswd"
sed -i 's/secret/TOPSECRET-env/' "$R/.env"
# Symlinks: out of the root (absolute, relative, folder), and within it (file, folder).
printf 'real target inside\n' > "$R/real.txt"
ln -s "$T/secret.txt" "$R/link-abs-out.txt"
ln -s ../secret.txt "$R/link-rel-out.txt"
ln -s ../../secret.txt "$R/docs/link-up-out.txt"
ln -s "$T/outside" "$R/linkdir-out"
ln -s ../root-evil "$R/linkdir-sibling"
ln -s /etc/passwd "$R/passwd.txt"
ln -s real.txt "$R/link-in.txt"
ln -s docs "$R/linkdir-in"
ln -s ../real.txt "$R/docs/link-up-in.txt"
# Special files: a FIFO must not block a worker.
mkfifo "$R/fifo.txt"
# A site without index.html and without a 404 page: no listing, the built-in 404.
mkdir -p "$T/bare/sub"
printf 'listed-file-one\n' > "$T/bare/listed-file-one.txt"
printf 'listed-file-two\n' > "$T/bare/sub/listed-file-two.txt"

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "warn"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2
[sites."site.test"]
root = "$R"
[sites."bare.test"]
root = "$T/bare"
error_page = ""
EOF
moat_start serve --config "$T/moat.toml"

# get PROTO HOST PATH: prints "status|body" (body on one line), path sent as is.
get() {
    mcurl "$1" --path-as-is -o "$T/body" -w '%{http_code}' \
        --resolve "$2:$HTTPS_PORT:127.0.0.1" "https://$2:$HTTPS_PORT$3" 2>/dev/null || printf '000'
    printf '|'
    tr '\n' ' ' < "$T/body" 2>/dev/null || true
    rm -f "$T/body"
}

# raw HOST REQUEST_LINE: sends one HTTP/1.1 request with exactly this request line over TLS and
# prints the status code and the whole response.
cat > "$T/raw.py" <<'EOF'
import socket, ssl, sys
port, ca, host, line = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
line = line.encode("latin-1").decode("unicode_escape").encode("latin-1")
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
    with ctx.wrap_socket(s, server_hostname=host) as t:
        t.sendall(line + b"\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            pass
parts = data.split(b" ", 2)
status = parts[1].decode() if len(parts) > 1 else "000"
sys.stdout.write(status + "|" + data.decode("latin-1").replace("\r", " ").replace("\n", " "))
EOF
raw() { timeout 30 python3 "$T/raw.py" "$HTTPS_PORT" "$CA" "$1" "$2" || printf '000|'; }

# refused LABEL RESULT: a traversal attempt got a 4xx and none of the secrets.
refused() {
    local st=${2%%|*}
    if [[ "$st" =~ ^4[0-9][0-9]$ ]] && ! grep -q 'TOPSECRET\|root:x:0' <<<"$2"; then
        pass "$1 -> $st"
    else
        fail "$1: got '${2:0:160}'"
    fi
}

TRICKS=(
    "/../secret.txt" "/../../secret.txt" "/../../../../../../../../etc/passwd"
    "/docs/../../secret.txt" "/./../secret.txt" "//../secret.txt" "/docs/./../../secret.txt"
    "/%2e%2e/secret.txt" "/%2E%2E/secret.txt" "/%2e%2e/%2e%2e/secret.txt" "/.%2e/secret.txt"
    "/%2e./secret.txt" "/docs/%2e%2e/%2e%2e/secret.txt"
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"
    "/..%2fsecret.txt" "/%2e%2e%2fsecret.txt" "/docs%2f..%2f..%2fsecret.txt"
    "/%2e%2e%2f%2e%2e%2fsecret.txt" "/%2fetc%2fpasswd" "/%2F..%2F..%2Fsecret.txt"
    "/%252e%252e/secret.txt" "/%252e%252e%252fsecret.txt" "/%25252e%25252e/secret.txt"
    "/..%255csecret.txt"
    "/..%5csecret.txt" "/..%5c..%5csecret.txt" "/docs%5c..%5c..%5csecret.txt"
    "/%5c..%5csecret.txt"
    "/..%00/secret.txt" "/secret.txt%00.html" "/%00" "/index.html%00" "/%00/../secret.txt"
    "/..;/secret.txt" "/;/../secret.txt" "/docs/..;/..;/secret.txt" "/..;foo=bar/secret.txt"
    "/%c0%ae%c0%ae/secret.txt" "/%c0%ae%c0%ae%c0%afsecret.txt" "/..%c0%afsecret.txt"
    "/%e0%80%ae%e0%80%ae/secret.txt" "/%uff0e%uff0e/secret.txt" "/..%u2215secret.txt"
    "/../root-evil/secret.txt" "/%2e%2e/root-evil/secret.txt" "/.../secret.txt"
    "/%2e%2e" "/.." "/docs/.." "/docs/%2e%2e"
    "/link-abs-out.txt" "/link-rel-out.txt" "/docs/link-up-out.txt" "/linkdir-out/secret.txt"
    "/linkdir-out/index.html" "/linkdir-out/" "/linkdir-sibling/secret.txt" "/passwd.txt"
    "/linkdir-in/../../secret.txt" "/linkdir-in/%2e%2e/%2e%2e/secret.txt"
)
for proto in --http1.1 --http2; do
    p=${proto#--}
    for t in "${TRICKS[@]}"; do refused "$p $t" "$(get "$proto" site.test "$t")"; done

    # Percent-decoding exactly once.
    expect_eq "$p %25 decodes once" "$(get "$proto" site.test '/a%2541.txt')" "200|decoded-once "
    expect_eq "$p %41 decodes" "$(get "$proto" site.test '/a%41.txt')" "200|decoded-twice "
    expect_eq "$p encoded space" "$(get "$proto" site.test '/hello%20world.txt')" "200|space ok "
    expect_eq "$p ; is part of the name" "$(get "$proto" site.test '/semi;colon.txt')" "200|semicolon file "
    expect_match "$p encoded slash is not a separator" "$(get "$proto" site.test '/docs%2findex.html')" '^404\|'
    expect_match "$p encoded letters" "$(get "$proto" site.test '/%64ocs/%69ndex.html')" '^200\|.*ROOTSITE docs'

    # Dotfiles: hidden everywhere except /.well-known/.
    for t in /.env /%2eenv /.git/config /.git/ /.git /docs/.hidden /docs/%2ehidden \
        /docs/.private/x.txt /.well-known/.htpasswd /.well-known/../.env /.well-known/%2e%2e/.env; do
        refused "$p dotfile $t" "$(get "$proto" site.test "$t")"
    done
    expect_eq "$p /.well-known/ is served" "$(get "$proto" site.test /.well-known/security.txt)" "200|hello security "
    expect_eq "$p /%2ewell-known/ is served" "$(get "$proto" site.test /%2ewell-known/security.txt)" "200|hello security "

    # Symlinks inside the root work.
    expect_eq "$p symlink to a file inside" "$(get "$proto" site.test /link-in.txt)" "200|real target inside "
    expect_match "$p symlink to a folder inside" "$(get "$proto" site.test /linkdir-in/index.html)" '^200\|.*ROOTSITE docs'
    expect_match "$p symlinked folder index" "$(get "$proto" site.test /linkdir-in/)" '^200\|.*ROOTSITE docs'
    expect_eq "$p relative symlink up but inside" "$(get "$proto" site.test /docs/link-up-in.txt)" "200|real target inside "

    # No listings, ever.
    r=$(get "$proto" site.test /img/)
    expect_match "$p folder without index -> 404" "$r" '^404\|.*ROOTSITE not found page'
    expect_no_match "$p no listing of /img/" "$r" 'logo\.png'
    r=$(get "$proto" bare.test /)
    expect_match "$p bare root -> 404" "$r" '^404\|'
    expect_no_match "$p no listing of the root" "$r" 'listed-file|sub/'
    r=$(get "$proto" bare.test /sub/)
    expect_match "$p bare folder -> 404" "$r" '^404\|'
    expect_no_match "$p no listing of a folder" "$r" 'listed-file'
    expect_eq "$p bare file served" "$(get "$proto" bare.test /listed-file-one.txt)" "200|listed-file-one "

    # A FIFO is not a file: answered at once, not hanging the worker.
    expect_match "$p fifo" "$(get "$proto" site.test /fifo.txt)" '^404\|'
done

# Raw request lines that curl would clean up or refuse to send.
RAW=(
    'GET /..\\secret.txt HTTP/1.1' 'GET /..\\..\\secret.txt HTTP/1.1' 'GET \\..\\secret.txt HTTP/1.1'
    'GET /docs\\..\\..\\secret.txt HTTP/1.1' 'GET ../secret.txt HTTP/1.1' 'GET secret.txt HTTP/1.1'
    'GET /../secret.txt HTTP/1.1' 'GET /%2e%2e/secret.txt HTTP/1.1' 'GET /..%2fsecret.txt HTTP/1.1'
    'GET /%252e%252e/secret.txt HTTP/1.1' 'GET /..;/secret.txt HTTP/1.1'
    'GET /secret.txt\x00 HTTP/1.1' 'GET /..\x00/secret.txt HTTP/1.1' 'GET /\x2e\x2e/secret.txt HTTP/1.1'
    'GET /..\t/secret.txt HTTP/1.1' 'GET /%2e%2e%5csecret.txt HTTP/1.1'
    'GET https://site.test/../secret.txt HTTP/1.1' 'GET https://site.test/%2e%2e/secret.txt HTTP/1.1'
    'GET https://site.test/../../etc/passwd HTTP/1.1' 'GET //site.test/../secret.txt HTTP/1.1'
    'GET http://site.test@127.0.0.1/../secret.txt HTTP/1.1' 'GET * HTTP/1.1'
    'GET /../secret.txt?x=/index.html HTTP/1.1' 'GET /index.html/../../secret.txt HTTP/1.1'
    'GET /..%2F..%2Fsecret.txt#/index.html HTTP/1.1' 'GET /%c0%ae%c0%ae/secret.txt HTTP/1.1'
)
for line in "${RAW[@]}"; do refused "raw $line" "$(raw site.test "$line")"; done
# Absolute-form targets name the host themselves (RFC 9112 §3.2.2): another site on this
# connection is still 421, never its content.
r=$(raw site.test 'GET https://bare.test/listed-file-one.txt HTTP/1.1')
expect_match "raw absolute-form for another site -> 421" "$r" '^421\|'
expect_no_match "raw absolute-form for another site: no content" "$r" 'listed-file-one'
expect_match "raw absolute-form for this site" "$(raw site.test 'GET https://site.test/real.txt HTTP/1.1')" '^200\|.*real target inside'
expect_match "raw sanity: a plain GET works" "$(raw site.test 'GET /real.txt HTTP/1.1')" '^200\|.*real target inside'
expect_match "raw sanity: decoding once" "$(raw site.test 'GET /a%2541.txt HTTP/1.1')" '^200\|.*decoded-once'

# The server is still healthy after all that.
expect_match "still serving" "$(get --http2 site.test /)" '^200\|.*ROOTSITE home'
if grep -qi 'assert\|abort\|fatal' "$T/moat.log"; then fail "server log has errors: $(tail -5 "$T/moat.log")"; else pass "server log clean"; fi

finish
