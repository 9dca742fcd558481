#!/usr/bin/env bash
# Headless Chromium loads the demo site with moat's CA trusted: the page's JS runs, nothing is
# written to the console except the demo's own log line (no errors, no CSP violations), every
# subresource loads, and Chromium's requests arrive over HTTP/2 (moat's access log says so).
#
# The demo's own config listens on fixed ports; `moat serve --demo` keeps an existing
# <data>/moat.toml, so the test writes one on free ports first and the demo writes the site.
source "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    fail "chromium is not installed"
    finish
fi
command -v certutil >/dev/null || { fail "certutil (libnss3-tools) is not installed"; finish; }

HTTPS_PORT=$(free_port)
DATA=$T/data
CA=$DATA/ca/root.crt
mkdir -p "$DATA"
cat >"$DATA/moat.toml" <<EOF
data_dir = "."
[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = []
metrics = ""
[sites."localhost"]
[sites."localhost".environments.production]
root = "demo/production"
[sites."localhost".environments.testing]
root = "demo/testing"
EOF
moat_start serve --demo --data "$DATA"
# The banner is printed after the listeners are bound (the port answers before it is written).
for _ in $(seq 300); do grep -q 'Ctrl-C stops' "$T/moat.log" && break; sleep 0.1; done
check "demo kept the test's config" grep -q "127.0.0.1:$HTTPS_PORT" "$DATA/moat.toml"
check "demo wrote its site" test -s "$DATA/demo/production/js/app.js"
expect_match "banner shows the configured port" "$(cat "$T/moat.log")" "curl --cacert [^ ]*root\.crt https://localhost:$HTTPS_PORT/"
expect_no_match "banner lists no plain-HTTP or metrics URL (both off)" "$(cat "$T/moat.log")" "http://"

# Negative controls in the same site: inline script and style (blocked by the default CSP) and a
# script that throws. They prove that the console checks below can fail.
P=$DATA/demo/production
printf '<!doctype html><html><head><meta charset="utf-8"><title>bad</title><link rel="icon" href="/img/logo.png"></head><body><p id="p" style="color:red">x</p><script>document.getElementById("p").textContent = "inline ran";</script><script src="/js/throws.js"></script></body></html>\n' >"$P/csp-bad.html"
printf 'null.boom();\n' >"$P/js/throws.js"

# Chromium trusts the CA through the NSS db in $HOME/.pki/nssdb.
CH_HOME=$T/chrome-home
mkdir -p "$CH_HOME/.pki/nssdb"
certutil -d "sql:$CH_HOME/.pki/nssdb" -N --empty-password
certutil -d "sql:$CH_HOME/.pki/nssdb" -A -t "C,," -n moat-test-ca -i "$CA"

# chrome NAME URL: DOM in $T/NAME.html, console lines in $T/NAME.console, stderr in $T/NAME.err.
chrome() {
    local name=$1 url=$2
    HOME=$CH_HOME timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$T/profile.XXXXXX")" --enable-logging=stderr --v=0 \
        --dump-dom "$url" >"$T/$name.html" 2>"$T/$name.err" || true
    # Console messages (any level) and page-load failures; the rest of stderr is container noise.
    grep -E ':CONSOLE[:(]|Page load failed|ERR_CERT' "$T/$name.err" |
        sed -E 's/^\[[^]]*\] //' >"$T/$name.console" || true
}

# --- the demo home page ---
chrome home "https://localhost:$HTTPS_PORT/"
status=$(grep -o '<p id="status"[^>]*>[^<]*</p>' "$T/home.html" || true)
expect_match "JS ran (DOM changed)" "$status" 'class="ran">JavaScript ran at [0-9T:.Z-]+ over h2<'
expect_no_match "JS placeholder gone" "$(cat "$T/home.html")" "JavaScript has not run"
check "page rendered the demo" grep -q 'It works: moat is serving this site (production)' "$T/home.html"
console=$(cat "$T/home.console")
expect_match "console: the demo's log line" "$console" '"moat demo loaded", source: https://localhost:[0-9]+/js/app\.js'
others=$(grep -v '"moat demo loaded"' "$T/home.console" || true)
expect_eq "console: nothing else (errors, CSP violations)" "$others" ""
expect_no_match "no CSP violation" "$(cat "$T/home.err")" "Content Security Policy"
expect_no_match "no certificate error" "$(cat "$T/home.err")" "ERR_CERT|Page load failed"

# --- the docs page (css only, no script) and the testing copy ---
chrome docs "https://localhost:$HTTPS_PORT/docs/"
check "docs page rendered" grep -q '<h1>Docs</h1>' "$T/docs.html"
expect_eq "docs: console empty" "$(cat "$T/docs.console")" ""
chrome testing "https://test.localhost:$HTTPS_PORT/"
# test.localhost resolves to loopback in Chromium (RFC 6761 .localhost).
expect_match "testing copy: JS ran" "$(grep -o '<p id="status"[^>]*>[^<]*</p>' "$T/testing.html" || true)" 'class="ran">.*over h2<'
check "testing copy rendered" grep -q 'serving this site (testing)' "$T/testing.html"
others=$(grep -v '"moat demo loaded"' "$T/testing.console" || true)
expect_eq "testing: console clean" "$others" ""

# --- negative control: the checks see violations and errors ---
chrome bad "https://localhost:$HTTPS_PORT/csp-bad.html"
check "control: page loaded" grep -q '<p id="p"' "$T/bad.html"
expect_match "control: inline script blocked" "$(cat "$T/bad.html")" '<p id="p" style="color:red">x</p>'
expect_match "control: CSP violation seen (script)" "$(cat "$T/bad.console")" "Content Security Policy directive 'script-src 'self''"
expect_match "control: CSP violation seen (style)" "$(cat "$T/bad.console")" "Content Security Policy directive 'style-src 'self''"
expect_match "control: uncaught error seen" "$(cat "$T/bad.console")" "Uncaught TypeError"

# --- moat's side: Chromium's requests, all over HTTP/2 and successful ---
kill -TERM "$MOAT_PID"
set +e; wait "$MOAT_PID"; set -e
find "$DATA/logs/CloudFront" -name '*.gz' -exec zcat {} + | grep -v '^#' |
    awk -F'\t' '$11 ~ /HeadlessChrome/' >"$T/chrome.log" || true
n=$(wc -l <"$T/chrome.log")
check "access log has Chromium's requests ($n)" test "$n" -ge 10
expect_eq "every Chromium request over HTTP/2.0" \
    "$(awk -F'\t' '{ print $24 }' "$T/chrome.log" | sort -u | tr '\n' ' ')" "HTTP/2.0 "
expect_eq "every Chromium request over TLSv1.3" \
    "$(awk -F'\t' '{ print $21 }' "$T/chrome.log" | sort -u | tr '\n' ' ')" "TLSv1.3 "
# Every resource the demo pages use was fetched and answered 2xx/304.
for u in / /css/site.css /js/app.js /img/logo.png /docs/; do
    st=$(awk -F'\t' -v u="$u" '$8 == u && $16 ~ /^localhost/ { print $9 }' "$T/chrome.log" | sort -u | tr '\n' ' ')
    expect_match "Chromium fetched $u (status $st)" "$st" '^(200|304)( (200|304))* $'
done
bad=$(awk -F'\t' '$9 !~ /^(200|304)$/ && $8 !~ /^\/(csp-bad\.html|js\/throws\.js)$/ { print $9, $8 }' "$T/chrome.log")
expect_eq "no failed subresource" "$bad" ""
check "testing host requests logged under testing" bash -c \
    "find '$DATA/logs/CloudFront/testing' -name '*.gz' -exec zcat {} + | grep -q HeadlessChrome"

finish
