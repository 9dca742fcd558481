#!/usr/bin/env bash
# Sites end to end through the real binary, with curl over HTTP/1.1 and HTTP/2: canonical host,
# aliases, environments, redirect-only sites, the plain-HTTP policies, methods, default
# documents, the custom 404 page, host/SNI checks, the security header policy on every kind of
# response, custom headers and Cache-Control rules.
# Path confinement (traversal, dotfiles, symlinks, listings) is in test_sites_paths.sh.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
mkdir -p "$T/data"

# --- sites on disk: every root has its own marker so a response names the root it came from ---
make_site "$T/prod" PRODROOT
make_site "$T/testing" TESTROOT
make_site "$T/other" OTHERROOT
make_site "$T/refuse" REFUSEROOT
printf 'only in production\n' > "$T/prod/prod-only.txt"
printf 'only in testing\n' > "$T/testing/test-only.txt"
printf '<!doctype html><title>about</title><p>PRODROOT about\n' > "$T/prod/about.html"
printf 'jpegish' > "$T/prod/img/photo.jpg"
printf 'jpegish' > "$T/prod/assets/hero.jpg"
printf '{"a":1}\n' > "$T/prod/data.json"
mkdir -p "$T/prod/evil.test" "$T/prod/my dir"
printf 'folder named like a host\n' > "$T/prod/evil.test/index.html"
printf 'folder with a space\n' > "$T/prod/my dir/index.html"
mkdir -p "$T/other/static/x" "$T/other/g/sub"
for f in static/a.css static/x/b.css g/t.txt g/sub/t.txt g/u.css g/sub/deep.md plain.css none.bin; do
    printf 'body{}\n' > "$T/other/$f"
done

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "warn"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 2

# Defaults everywhere: headers, cache rules, http = "redirect-home".
[sites."site.test"]
aliases = ["www.site.test"]
[sites."site.test".environments.production]
root = "$T/prod"
[sites."site.test".environments.testing]
root = "$T/testing"

[sites."other.test"]
root = "$T/other"
http = "redirect"
default_cache_control = "OTHER-DEFAULT"
[sites."other.test".headers]
hsts_include_subdomains = true
hsts_preload = true
add = { "X-Robots-Tag" = "noindex", "X-Custom-Thing" = "yes" }
remove = ["X-Frame-Options", "Cross-Origin-Resource-Policy"]
[[sites."other.test".cache]]
prefix = "/static/"
cache_control = "RULE-PREFIX"
[[sites."other.test".cache]]
prefix = "/static/x/"
cache_control = "RULE-NEVER"
[[sites."other.test".cache]]
glob = "/g/*.txt"
cache_control = "RULE-GLOB"
[[sites."other.test".cache]]
glob = "/g/**.md"
cache_control = "RULE-GLOBSTAR"
[[sites."other.test".cache]]
extension = "css"
cache_control = "RULE-EXT"

[sites."refuse.test"]
root = "$T/refuse"
http = "refuse"

[sites."old.test"]
aliases = ["www.old.test"]
redirect_to = "https://site.test/new"

[sites."moved.test"]
redirect_to = "https://elsewhere.example/"
redirect_status = 308
EOF

moat_start serve --config "$T/moat.toml"

# --- helpers --------------------------------------------------------------------------------
N=0
# fetch HOST PATH [curl args...]: over HTTPS on the test port; sets ST (status), H (header file,
# CR stripped) and B (body file).
fetch() {
    local host=$1 path=$2
    shift 2
    N=$((N + 1))
    H="$T/r$N.hdr" B="$T/r$N.body"
    ST=$(mcurl -o "$B" -D "$H.raw" -w '%{http_code}' --resolve "$host:$HTTPS_PORT:127.0.0.1" \
        "$@" "https://$host:$HTTPS_PORT$path" || echo 000)
    tr -d '\r' < "$H.raw" > "$H" 2>/dev/null || : > "$H"
}
# fetch_http HOST PATH [curl args...]: the same on the plain-HTTP listener.
fetch_http() {
    local host=$1 path=$2
    shift 2
    N=$((N + 1))
    H="$T/r$N.hdr" B="$T/r$N.body"
    ST=$(curl -sS --max-time 10 -o "$B" -D "$H.raw" -w '%{http_code}' \
        --resolve "$host:$HTTP_PORT:127.0.0.1" "$@" "http://$host:$HTTP_PORT$path" || echo 000)
    tr -d '\r' < "$H.raw" > "$H" 2>/dev/null || : > "$H"
}
# hv NAME [FILE]: the value of a response header (first one), empty when absent.
hv() { grep -i "^$1:" "${2:-$H}" | head -1 | cut -d: -f2- | sed 's/^ //' || true; }
# hcount NAME [FILE]: how many times a header appears.
hcount() { grep -ci "^$1:" "${2:-$H}" || true; }
body() { cat "$B"; }

CSP_DEFAULT="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests"
PP_DEFAULT="camera=(), microphone=(), geolocation=(), payment=(), usb=(), fullscreen=(self)"

# sec LABEL MODE: the default security header policy on the last response.
# MODE: https (with HSTS), http (no HSTS), nohsts (HTTPS answer for an unknown host).
sec() {
    local label=$1 mode=$2 bad=""
    if [ "$mode" = https ]; then
        [ "$(hv strict-transport-security)" = "max-age=63072000" ] || bad+=" hsts='$(hv strict-transport-security)'"
    else
        [ "$(hcount strict-transport-security)" = 0 ] || bad+=" hsts-present"
    fi
    [ "$(hv content-security-policy)" = "$CSP_DEFAULT" ] || bad+=" csp"
    [ "$(hv x-content-type-options)" = nosniff ] || bad+=" xcto"
    [ "$(hv x-frame-options)" = DENY ] || bad+=" xfo"
    [ "$(hv referrer-policy)" = strict-origin-when-cross-origin ] || bad+=" referrer"
    [ "$(hv permissions-policy)" = "$PP_DEFAULT" ] || bad+=" permissions"
    [ "$(hv cross-origin-opener-policy)" = same-origin ] || bad+=" coop"
    [ "$(hv cross-origin-resource-policy)" = same-origin ] || bad+=" corp"
    [ "$(hcount server)" = 0 ] || bad+=" server-header"
    [ "$(hcount x-powered-by)" = 0 ] || bad+=" x-powered-by"
    if [ -z "$bad" ]; then pass "$label: security headers"; else fail "$label: security headers:$bad"; fi
}

for proto in --http1.1 --http2; do
    p=${proto#--}

    # --- canonical host and environments: each serves its own root, never the other's ---
    fetch site.test / "$proto"
    expect_eq "$p canonical / status" "$ST" 200
    expect_match "$p canonical / is production" "$(body)" PRODROOT
    expect_no_match "$p canonical / is not testing" "$(body)" TESTROOT
    expect_eq "$p canonical / content-type" "$(hv content-type)" "text/html; charset=utf-8"
    sec "$p 200" https
    fetch test.site.test / "$proto"
    expect_eq "$p testing / status" "$ST" 200
    expect_match "$p testing / is testing" "$(body)" TESTROOT
    expect_no_match "$p testing / is not production" "$(body)" PRODROOT
    sec "$p testing 200" https
    fetch site.test /prod-only.txt "$proto"
    expect_eq "$p production-only file on production" "$ST:$(body)" "200:only in production"
    fetch test.site.test /prod-only.txt "$proto"
    expect_eq "$p production-only file absent on testing" "$ST" 404
    expect_match "$p testing 404 page is testing's" "$(body)" "TESTROOT not found page"
    fetch test.site.test /test-only.txt "$proto"
    expect_eq "$p testing-only file on testing" "$ST:$(body)" "200:only in testing"
    fetch site.test /test-only.txt "$proto"
    expect_eq "$p testing-only file absent on production" "$ST" 404
    expect_match "$p production 404 page is production's" "$(body)" "PRODROOT not found page"
    fetch site.test /docs/ "$proto"
    expect_match "$p production docs" "$ST:$(body)" "^200:.*PRODROOT docs"
    fetch test.site.test /docs/ "$proto"
    expect_match "$p testing docs" "$ST:$(body)" "^200:.*TESTROOT docs"
    fetch SITE.TEST / "$proto"
    expect_match "$p host is case-insensitive" "$ST:$(body)" "^200:.*PRODROOT"

    # --- aliases: 301 to the canonical host, path and query kept ---
    fetch www.site.test "/docs/page.html?a=1&b=two" "$proto"
    expect_eq "$p alias status" "$ST" 301
    expect_eq "$p alias location" "$(hv location)" "https://site.test:$HTTPS_PORT/docs/page.html?a=1&b=two"
    expect_eq "$p alias body empty" "$(wc -c < "$B" | tr -d ' ')" 0
    sec "$p 301 alias" https
    fetch www.site.test / "$proto"
    expect_eq "$p alias / location" "$ST $(hv location)" "301 https://site.test:$HTTPS_PORT/"
    fetch www.site.test "/%7Euser/a%20b" "$proto"
    expect_eq "$p alias keeps encoded path" "$(hv location)" "https://site.test:$HTTPS_PORT/%7Euser/a%20b"

    # --- redirect-only sites: every request goes to the target, path and query kept ---
    fetch old.test "/a/b.html?x=1&y=2" "$proto"
    expect_eq "$p redirect-only status" "$ST" 301
    expect_eq "$p redirect-only location" "$(hv location)" "https://site.test/new/a/b.html?x=1&y=2"
    sec "$p redirect-only" https
    fetch old.test / "$proto"
    expect_eq "$p redirect-only /" "$ST $(hv location)" "301 https://site.test/new/"
    fetch www.old.test "/p?q=1" "$proto"
    expect_eq "$p redirect-only alias" "$ST $(hv location)" "301 https://site.test/new/p?q=1"
    fetch moved.test "/deep/path.html?k=v" "$proto"
    expect_eq "$p redirect-only 308" "$ST $(hv location)" "308 https://elsewhere.example/deep/path.html?k=v"
    fetch moved.test "/index.html" "$proto" -I
    expect_eq "$p redirect-only HEAD" "$ST $(hv location)" "308 https://elsewhere.example/index.html"

    # --- methods: GET and HEAD only ---
    for m in POST PUT DELETE OPTIONS PATCH TRACE BREW; do
        fetch site.test /index.html "$proto" -X "$m"
        expect_eq "$p $m status" "$ST" 405
        expect_eq "$p $m allow" "$(hv allow)" "GET, HEAD"
        expect_no_match "$p $m no content" "$(body)" PRODROOT
        [ "$m" = POST ] && sec "$p 405" https
    done
    fetch site.test /index.html "$proto" -X POST -d 'a=1'
    expect_eq "$p POST with a body" "$ST $(hv allow)" "405 GET, HEAD"
    fetch site.test /index.html "$proto" -I
    expect_eq "$p HEAD status" "$ST" 200
    expect_no_match "$p HEAD no body" "$(body)" PRODROOT
    expect_eq "$p HEAD downloads nothing" "$(mcurl "$proto" -I -o /dev/null -w '%{size_download}' \
        --resolve "site.test:$HTTPS_PORT:127.0.0.1" "https://site.test:$HTTPS_PORT/index.html")" 0
    expect_eq "$p HEAD content-length" "$(hv content-length)" "$(wc -c < "$T/prod/index.html" | tr -d ' ')"

    # --- default documents and folders ---
    fetch site.test / "$proto"
    expect_eq "$p / serves index.html" "$ST:$(hcount location)" "200:0"
    cmp -s "$B" "$T/prod/index.html" && pass "$p / bytes" || fail "$p / bytes"
    fetch site.test /docs/ "$proto"
    expect_eq "$p /docs/ serves its index" "$ST:$(hcount location)" "200:0"
    cmp -s "$B" "$T/prod/docs/index.html" && pass "$p /docs/ bytes" || fail "$p /docs/ bytes"
    fetch site.test "/docs?from=x&y=1" "$proto"
    expect_eq "$p /docs redirects to /docs/" "$ST" 301
    expect_match "$p /docs location keeps query" "$(hv location)" '^(https://site\.test:[0-9]+)?/docs/\?from=x&y=1$'
    sec "$p 301 folder" https
    fetch site.test /docs "$proto"
    expect_match "$p /docs location" "$(hv location)" '^(https://site\.test:[0-9]+)?/docs/$'
    fetch site.test /docs/index.html "$proto"
    expect_eq "$p file with extension served as is" "$ST:$(hcount location)" "200:0"
    fetch site.test /about.html "$proto"
    expect_match "$p about.html" "$ST:$(body)" "^200:.*PRODROOT about"
    fetch site.test /about "$proto"
    expect_eq "$p no extension guessing" "$ST" 404
    fetch site.test /index.html/ "$proto"
    expect_eq "$p file with trailing slash" "$ST" 404

    # --- no open redirects: every Location stays on a configured host ---
    fetch site.test /evil.test "$proto"
    expect_match "$p folder named like a host" "$ST $(hv location)" '^301 (https://site\.test:[0-9]+)?/evil\.test/$'
    fetch site.test "//evil.test" "$proto" --path-as-is
    expect_no_match "$p //host is not a redirect elsewhere" "$ST $(hv location)" '^30[1278] (//|https?://evil)'
    fetch site.test "/%2fevil.test" "$proto" --path-as-is
    expect_no_match "$p /%2fhost is not a redirect elsewhere" "$ST $(hv location)" '^30[1278] (//|https?://evil)'
    fetch site.test "/%5cevil.test" "$proto" --path-as-is
    expect_no_match "$p /%5chost is not a redirect elsewhere" "$ST $(hv location)" '^30[1278] (/\\|//|https?://evil)'
    fetch www.site.test "//evil.test/x" "$proto" --path-as-is
    expect_match "$p alias keeps the canonical host" "$ST $(hv location)" "^(301 https://site\.test:$HTTPS_PORT//evil\.test/x|400 )"
    fetch site.test "/my%20dir?q=a%20b" "$proto"
    expect_match "$p folder redirect re-encodes" "$ST $(hv location)" '^301 (https://site\.test:[0-9]+)?/my%20dir/\?q=a%20b$'
    fetch site.test "/my%20dir/" "$proto"
    expect_eq "$p folder with a space" "$ST $(cat "$B")" "200 folder with a space"

    # --- the custom 404 page ---
    fetch site.test /no/such/page.html "$proto"
    expect_eq "$p 404 status" "$ST" 404
    cmp -s "$B" "$T/prod/404.html" && pass "$p 404 body is 404.html" || fail "$p 404 body is 404.html"
    expect_eq "$p 404 content-type" "$(hv content-type)" "text/html; charset=utf-8"
    sec "$p 404" https

    # --- unknown hosts and Host/SNI mismatch: 421, never another site's content ---
    fetch site.test / "$proto" -H "Host: unknown.test"
    expect_eq "$p unknown host status" "$ST" 421
    expect_no_match "$p unknown host body" "$(body)" "PRODROOT|TESTROOT|OTHERROOT"
    sec "$p 421 unknown host" nohsts
    fetch site.test / "$proto" -H "Host: other.test"
    expect_eq "$p SNI site.test, Host other.test" "$ST" 421
    expect_no_match "$p SNI/Host mismatch body" "$(body)" "PRODROOT|TESTROOT|OTHERROOT"
    fetch other.test / "$proto" -H "Host: site.test"
    expect_eq "$p SNI other.test, Host site.test" "$ST" 421
    expect_no_match "$p SNI/Host mismatch body (2)" "$(body)" "PRODROOT|TESTROOT|OTHERROOT"
    fetch site.test / "$proto" -H "Host: test.site.test"
    expect_match "$p SNI and Host of the same site" "$ST:$(body)" "^200:.*TESTROOT"
    fetch site.test / "$proto" -H "Host: site.test:$HTTPS_PORT"
    expect_match "$p Host with port" "$ST:$(body)" "^200:.*PRODROOT"
    fetch site.test / "$proto" -H "Host: site.test."
    expect_match "$p Host with trailing dot" "$ST:$(body)" "^200:.*PRODROOT"

    # --- custom header policy, cache rules (other.test) ---
    fetch other.test /index.html "$proto"
    expect_eq "$p other 200" "$ST" 200
    expect_match "$p other serves its root" "$(body)" OTHERROOT
    expect_eq "$p hsts includeSubDomains; preload" "$(hv strict-transport-security)" \
        "max-age=63072000; includeSubDomains; preload"
    expect_eq "$p added X-Robots-Tag" "$(hv x-robots-tag)" noindex
    expect_eq "$p added X-Custom-Thing" "$(hv x-custom-thing)" yes
    expect_eq "$p removed X-Frame-Options" "$(hcount x-frame-options)" 0
    expect_eq "$p removed CORP" "$(hcount cross-origin-resource-policy)" 0
    expect_eq "$p kept CSP" "$(hv content-security-policy)" "$CSP_DEFAULT"
    expect_eq "$p kept COOP" "$(hv cross-origin-opener-policy)" same-origin
    expect_eq "$p no server header" "$(hcount server)" 0
    fetch other.test /missing "$proto"
    expect_eq "$p custom headers on 404" "$ST $(hv x-robots-tag) $(hcount x-frame-options)" "404 noindex 0"
    fetch other.test /index.html "$proto" -X DELETE
    expect_eq "$p custom headers on 405" "$ST $(hv x-robots-tag) $(hcount x-frame-options)" "405 noindex 0"
    fetch other.test /static "$proto"
    expect_eq "$p custom headers on 301" "$ST $(hv x-robots-tag) $(hcount x-frame-options)" "301 noindex 0"

    # Default cache rules (site.test).
    fetch site.test /assets/site.css "$proto"
    expect_eq "$p cache /assets/" "$(hv cache-control)" "public, max-age=15552000, immutable"
    fetch site.test /assets/hero.jpg "$proto"
    expect_eq "$p cache /assets/ first match beats .jpg" "$(hv cache-control)" "public, max-age=15552000, immutable"
    fetch site.test /img/photo.jpg "$proto"
    expect_eq "$p cache .jpg" "$(hv cache-control)" "public, max-age=1209600"
    fetch site.test /about.html "$proto"
    expect_eq "$p cache .html" "$(hv cache-control)" "public, max-age=43200"
    fetch site.test / "$proto"
    expect_eq "$p cache / (index.html)" "$(hv cache-control)" "public, max-age=43200"
    fetch site.test /data.json "$proto"
    expect_eq "$p cache default" "$(hv cache-control)" "public, max-age=3600"
    # Custom rules (other.test): prefix, glob, globstar, extension, first match wins, default.
    fetch other.test /static/a.css "$proto"
    expect_eq "$p rule prefix" "$(hv cache-control)" RULE-PREFIX
    fetch other.test /static/x/b.css "$proto"
    expect_eq "$p rule first match wins" "$(hv cache-control)" RULE-PREFIX
    fetch other.test /g/t.txt "$proto"
    expect_eq "$p rule glob" "$(hv cache-control)" RULE-GLOB
    fetch other.test /g/sub/t.txt "$proto"
    expect_eq "$p rule glob * stops at /" "$(hv cache-control)" OTHER-DEFAULT
    fetch other.test /g/sub/deep.md "$proto"
    expect_eq "$p rule glob **" "$(hv cache-control)" RULE-GLOBSTAR
    fetch other.test /g/u.css "$proto"
    expect_eq "$p rule extension" "$(hv cache-control)" RULE-EXT
    fetch other.test /plain.css "$proto"
    expect_eq "$p rule extension (top)" "$(hv cache-control)" RULE-EXT
    fetch other.test /none.bin "$proto"
    expect_eq "$p rule default" "$(hv cache-control)" OTHER-DEFAULT
done

# --- security headers on 206, 304, 416 and 403 (HTTPS) ---
fetch site.test /assets/site.css -H "Range: bytes=0-9"
expect_eq "206 status" "$ST" 206
sec "206" https
ETAG=$(hv etag)
fetch site.test /assets/site.css -H "If-None-Match: $ETAG"
expect_eq "304 status" "$ST" 304
sec "304" https
fetch site.test /assets/site.css -H "Range: bytes=999999-"
expect_eq "416 status" "$ST" 416
sec "416" https

# --- the plain-HTTP listener ---
# Default (site.test): redirect-home.
fetch_http site.test /
expect_eq "http redirect-home / status" "$ST" 301
expect_eq "http redirect-home / location" "$(hv location)" "https://site.test:$HTTPS_PORT/"
sec "http 301" http
fetch_http site.test "/?utm=1"
expect_eq "http redirect-home / keeps query" "$(hv location)" "https://site.test:$HTTPS_PORT/?utm=1"
fetch_http site.test /docs/index.html
expect_eq "http redirect-home other path status" "$ST" 403
expect_match "http redirect-home other path body" "$(body)" "HTTPS is required"
expect_no_match "http redirect-home no content" "$(body)" PRODROOT
expect_eq "http redirect-home no location" "$(hcount location)" 0
[ "$(wc -c < "$B")" -lt 200 ] && pass "http 403 body is short" || fail "http 403 body is short"
sec "http 403" http
fetch_http site.test /index.html -X POST
expect_match "http POST on redirect-home" "$ST" "^(403|405)$"
fetch_http test.site.test /
expect_eq "http redirect-home on environment host" "$ST $(hv location)" "301 https://test.site.test:$HTTPS_PORT/"
fetch_http www.site.test /
expect_eq "http redirect-home on alias" "$ST" 301
expect_match "http redirect-home alias location" "$(hv location)" "^https://(www\.)?site\.test:$HTTPS_PORT/$"
# other.test: redirect (everything).
fetch_http other.test "/static/a.css?v=3&w=4"
expect_eq "http redirect status" "$ST" 301
expect_eq "http redirect location" "$(hv location)" "https://other.test:$HTTPS_PORT/static/a.css?v=3&w=4"
expect_eq "http redirect no HSTS" "$(hcount strict-transport-security)" 0
expect_no_match "http redirect no content" "$(body)" OTHERROOT
fetch_http other.test /
expect_eq "http redirect /" "$ST $(hv location)" "301 https://other.test:$HTTPS_PORT/"
# refuse.test: refuse.
fetch_http refuse.test /
expect_eq "http refuse / status" "$ST" 403
expect_eq "http refuse no location" "$(hcount location)" 0
expect_no_match "http refuse no content" "$(body)" REFUSEROOT
sec "http refuse" http
fetch_http refuse.test /index.html
expect_eq "http refuse path" "$ST" 403
fetch refuse.test /
expect_match "refuse.test over HTTPS serves" "$ST:$(body)" "^200:.*REFUSEROOT"
# Unknown host on port 80.
fetch_http unknown.test /
expect_eq "http unknown host" "$ST" 421
expect_eq "http unknown host no HSTS" "$(hcount strict-transport-security)" 0
expect_no_match "http unknown host body" "$(body)" "PRODROOT|TESTROOT|OTHERROOT"
# A redirect-only site on port 80 still follows its own http policy (default redirect-home).
fetch_http old.test /
expect_eq "http on a redirect-only site" "$ST" 301

finish
