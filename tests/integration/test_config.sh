#!/usr/bin/env bash
# `moat config check` and `moat serve` argument/config errors: every problem reported at once as
# file:line:col: key: reason, warnings for weak choices, exit codes.
source "$(dirname "$0")/lib.sh"

cd "$T"
mkdir -p www/prod www/test
echo '<p>hi</p>' >www/prod/index.html
echo '<p>test</p>' >www/test/index.html

# run_moat ARGS...: sets OUT (stdout+stderr) and RC, never aborts the script.
run_moat() {
    set +e
    OUT=$(timeout 20 "$MOAT" "$@" 2>&1)
    RC=$?
    set -e
}
# has_line NAME LINE: OUT contains exactly this line.
has_line() {
    if grep -qxF -- "$2" <<<"$OUT"; then pass "$1"; else fail "$1: no line '$2' in: $OUT"; fi
}

# --- a good file ---
cat >good.toml <<'EOF'
data_dir = "state"
log_level = "warn"

[edge]
https = ["127.0.0.1:8443", "[::1]:8443"]
http = ["127.0.0.1:8080"]
metrics = "127.0.0.1:9100"
drain_timeout = "5s"

[tls]
default_host = "example.com"

[sites."example.com"]
aliases = ["www.example.com"]

[sites."example.com".environments.production]
root = "www/prod"

[sites."example.com".environments.testing]
root = "www/test"

[sites."example.com".headers]
hsts_include_subdomains = true
hsts_preload = true
add = { "X-Robots-Tag" = "noindex" }

[[sites."example.com".cache]]
prefix = "/assets/"
cache_control = "public, max-age=31536000, immutable"

[sites."old.example.org"]
redirect_to = "https://example.com/"
redirect_status = 308
EOF
run_moat config check good.toml
expect_eq "good: exit 0" "$RC" "0"
has_line "good: summary" "good.toml: ok, 2 site(s), 0 warning(s)"
expect_no_match "good: no warnings" "$OUT" "^warning:"

# --- a file with several errors: all reported, each as file:line:col: key: reason ---
cat >bad.toml <<'EOF'
data_dri = "x"
log_level = "loud"

[edge]
https = ["localhost:443"]
idle_timeout = "1h30m"
max_connections = 0

[sites."example.com"]
root = "www/prod"
http = "sometimes"

[sites."example.com".headers]
hsts_preload = true

[sites."www.example.com"]
root = "www/missing"
EOF
run_moat config check bad.toml
expect_eq "bad: exit 2" "$RC" "2"
has_line "bad: unknown key with hint" 'bad.toml:1:1: data_dri: unknown key (did you mean "data_dir"?)'
expect_match "bad: log_level" "$OUT" '^bad\.toml:2:13: log_level: .*"loud"'
expect_match "bad: listen address with a name" "$OUT" '^bad\.toml:5:10: edge\.https\[0\]: .*localhost:443'
expect_match "bad: compound duration" "$OUT" '^bad\.toml:6:16: edge\.idle_timeout: .*1h30m'
expect_match "bad: out of range" "$OUT" '^bad\.toml:7:19: edge\.max_connections: .*got 0'
expect_match "bad: enum value" "$OUT" '^bad\.toml:11:8: sites\."example\.com"\.http: .*"sometimes"'
has_line "bad: preload needs subdomains" \
    'bad.toml:14:16: sites."example.com".headers.hsts_preload: needs hsts_include_subdomains = true and hsts_max_age >= 31536000'
expect_match "bad: missing root" "$OUT" '^bad\.toml:17:[0-9]+: sites\."www\.example\.com"\.root: .*www/missing.*not an existing directory'
expect_match "bad: summary counts every error" "$OUT" "bad\.toml: 8 error\(s\), 0 warning\(s\)"
# Every problem line has the file:line:col: key: reason shape.
shape_bad=$(printf '%s\n' "$OUT" | grep -v '^bad\.toml: [0-9]* error' | grep -Evc '^bad\.toml:[0-9]+:[0-9]+: [^ :]+: .+' || true)
expect_eq "bad: every line is file:line:col: key: reason" "$shape_bad" "0"

# A TOML syntax error has a position too.
printf '[sites."example.com"]\nroot = "www/prod"\nname = "unterminated\n' >syntax.toml
run_moat config check syntax.toml
expect_eq "syntax: exit 2" "$RC" "2"
expect_match "syntax: positioned" "$OUT" '^syntax\.toml:3:[0-9]+: '

# A host used twice is an error naming both places.
cat >dup.toml <<'EOF'
[sites."example.com"]
root = "www/prod"
aliases = ["www.example.com"]
[sites."www.example.com"]
root = "www/test"
EOF
run_moat config check dup.toml
expect_eq "duplicate host: exit 2" "$RC" "2"
expect_match "duplicate host named" "$OUT" 'dup\.toml:[0-9]+:[0-9]+: .*www\.example\.com'

# Missing file.
run_moat config check nosuch.toml
expect_eq "missing file: exit 2" "$RC" "2"
expect_match "missing file: named" "$OUT" "nosuch\.toml"

# --- warnings for weak choices: printed, exit 0 ---
cat >weak.toml <<'EOF'
[edge]
https = ["127.0.0.1:8443"]
http = []
metrics = "0.0.0.0:9100"
[sites."example.com"]
root = "www/prod"
[sites."example.com".headers]
hsts_max_age = 3600
content_security_policy = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
add = { "X-XSS-Protection" = "1; mode=block" }
remove = ["X-Frame-Options"]
EOF
run_moat config check weak.toml
expect_eq "weak: exit 0" "$RC" "0"
expect_match "weak: metrics not on loopback" "$OUT" '^warning: weak\.toml:4:11: edge\.metrics: .*loopback'
expect_match "weak: short HSTS" "$OUT" '^warning: weak\.toml:8:16: sites\."example\.com"\.headers\.hsts_max_age: '
expect_match "weak: unsafe-inline CSP" "$OUT" "^warning: weak\.toml:9:27: sites\.\"example\.com\"\.headers\.content_security_policy: .*'unsafe-inline'"
expect_match "weak: X-XSS-Protection deprecated" "$OUT" '^warning: weak\.toml:10:[0-9]+: sites\."example\.com"\.headers\.add\.X-XSS-Protection: .*deprecated'
expect_match "weak: removed security header" "$OUT" '^warning: weak\.toml:11:[0-9]+: sites\."example\.com"\.headers\.remove.*X-Frame-Options'
has_line "weak: summary" "weak.toml: ok, 1 site(s), 5 warning(s)"

# No frame-ancestors, an empty CSP, HSTS 0.
cat >weak2.toml <<'EOF'
[edge]
https = ["127.0.0.1:8443"]
http = []
[sites."a.example.com"]
root = "www/prod"
[sites."a.example.com".headers]
content_security_policy = "default-src 'self'"
hsts_max_age = 0
[sites."b.example.com"]
root = "www/prod"
[sites."b.example.com".headers]
content_security_policy = ""
EOF
run_moat config check weak2.toml
expect_eq "weak2: exit 0" "$RC" "0"
expect_match "weak2: no frame-ancestors" "$OUT" 'warning: weak2\.toml:7:[0-9]+: sites\."a\.example\.com"\.headers\.content_security_policy: .*frame-ancestors'
expect_match "weak2: HSTS 0" "$OUT" 'warning: weak2\.toml:8:[0-9]+: sites\."a\.example\.com"\.headers\.hsts_max_age: '
expect_match "weak2: empty CSP" "$OUT" 'warning: weak2\.toml:12:[0-9]+: sites\."b\.example\.com"\.headers\.content_security_policy: '

# --- moat serve with a bad file: exit 2, same messages, nothing bound ---
run_moat config check bad.toml
check_out=$(printf '%s\n' "$OUT" | grep -v ' error(s), ')
run_moat serve --config bad.toml
expect_eq "serve bad: exit 2" "$RC" "2"
serve_out=$(printf '%s\n' "$OUT" | grep -E '^bad\.toml:[0-9]+:')
expect_eq "serve bad: same messages as config check" "$serve_out" "$check_out"
check "serve bad: no state written" test ! -e "$T/state"
# With an absolute path the messages name it as given.
run_moat serve --config "$T/bad.toml"
expect_eq "serve bad (absolute): exit 2" "$RC" "2"
expect_match "serve bad (absolute): path as given" "$OUT" "^$T/bad\.toml:1:1: data_dri: "
# Warnings do not stop serve; it starts (we only check that it gets past loading).
HTTPS_PORT=$(free_port)
sed -e "s/127.0.0.1:8443/127.0.0.1:$HTTPS_PORT/" -e "s/0.0.0.0:9100/127.0.0.1:$(free_port)/" weak.toml >weak-serve.toml
printf 'data_dir = "%s/weak-data"\n' "$T" | cat - weak-serve.toml >weak-serve2.toml
moat_start serve --config weak-serve2.toml
check "serve with warnings: starts" kill -0 "$MOAT_PID"
expect_match "serve with warnings: warnings logged" "$(cat "$T/moat.log")" "warning: .*weak-serve2\.toml:[0-9]+:[0-9]+: .*unsafe-inline"
kill -TERM "$MOAT_PID"; set +e; wait "$MOAT_PID"; rc=$?; set -e
expect_eq "serve with warnings: SIGTERM exit 0" "$rc" "0"

# --- command line errors: exit 2 ---
run_moat serve
expect_eq "serve without a mode: exit 2" "$RC" "2"
expect_match "serve without a mode: says what to give" "$OUT" "--demo.*--config.*--root"
run_moat serve --demo --root www/prod
expect_eq "serve with two modes: exit 2" "$RC" "2"
run_moat serve --config good.toml --listen 127.0.0.1:1
expect_eq "serve --listen without --root: exit 2" "$RC" "2"
run_moat serve --root www/prod --cert x.pem
expect_eq "serve --cert without --key: exit 2" "$RC" "2"
run_moat
expect_eq "no subcommand: exit 2" "$RC" "2"
run_moat config
expect_eq "config without subcommand: exit 2" "$RC" "2"
run_moat config check
expect_eq "config check without a file: exit 2" "$RC" "2"
run_moat serve --bogus
expect_eq "unknown option: exit 2" "$RC" "2"
run_moat --version
expect_eq "--version: exit 0" "$RC" "0"
run_moat serve --help
expect_eq "serve --help: exit 0" "$RC" "0"

finish
