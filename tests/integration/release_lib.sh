# Shared by the test_release_*.sh scripts (sourced after lib.sh): `moat serve --demo` on free
# ports with its example site served from the store (releases), the S3 API and the admin API,
# and the CLI pointed at the demo principals.

# release_config [EXTRA]: writes $D/moat.toml; EXTRA is appended (more tables).
release_config() {
    HTTPS_PORT=$(free_port)
    HTTP_PORT=$(free_port)
    S3_PORT=$(free_port)
    ADMIN_PORT=$(free_port)
    D="$T/data"
    mkdir -p "$D"
    cat > "$D/moat.toml" <<TOML
data_dir = "."
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 2
[s3]
listen = ["127.0.0.1:$S3_PORT"]
hosts = ["localhost"]
[admin]
listen = ["127.0.0.1:$ADMIN_PORT"]
[release]
settle = "300ms"
settle_max = "1s"
[sites."localhost"]
store = true
approvals = 1
${1:-}
TOML
}

# release_up: starts moat --demo on $D and waits for the admin API and the demo principals;
# sets CA, EP (S3), AWS_* (aws-cli), CREDS.
release_up() {
    moat_start serve --demo --data "$D"
    wait_port "$ADMIN_PORT"
    # Written after the listeners open and the first demo releases are made: bounded, generous.
    for _ in $(seq 600); do [ -s "$D/demo-principals" ] && break; sleep 0.1; done
    [ -s "$D/demo-principals" ] || { echo "no demo-principals:"; cat "$T/moat.log"; return 1; }
    export CA="$D/ca/root.crt"
    CREDS="$D/demo-principals"
    EP="https://localhost:$S3_PORT"
    export AWS_SHARED_CREDENTIALS_FILE="$D/demo-s3-credentials" AWS_PROFILE=moat-demo
    export AWS_CONFIG_FILE="$T/aws-config"
    printf '[profile moat-demo]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' \
        > "$AWS_CONFIG_FILE"
}

# m PROFILE ARGS...: the moat CLI as that demo principal (exit code kept, output on stdout).
m() {
    local profile=$1
    shift
    timeout 120 "$MOAT" "$@" --credentials "$CREDS" --profile "$profile"
}

# s3 ARGS...: aws-cli against moat's S3 API.
s3() { timeout 120 aws --endpoint-url "$EP" --ca-bundle "$CA" "$@" --only-show-errors; }

# prod PATH / testing PATH: body of a page of each environment.
prod() { mcurl "https://localhost:$HTTPS_PORT$1"; }
testing() {
    mcurl --resolve "test.localhost:$HTTPS_PORT:127.0.0.1" "https://test.localhost:$HTTPS_PORT$1"
}

# totp SECRET [STEP_OFFSET]: the RFC 6238 code (SHA-1, 30 s, 6 digits) for now + offset steps.
totp() {
    python3 - "$1" "${2:-0}" <<'PY'
import base64, hashlib, hmac, struct, sys, time
secret = sys.argv[1].upper()
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
step = int(time.time()) // 30 + int(sys.argv[2])
mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}

# secret_of PROFILE: the demo principal's TOTP secret from the credentials file.
secret_of() {
    awk -v p="[$1]" '$0 == p {on=1; next} /^\[/ {on=0} on && $1 == "totp_secret" {print $3}' "$CREDS"
}

# otp PROFILE: a TOTP code for that demo principal that the server has not seen yet. Codes of
# the next step are accepted too (RFC 6238 §5.2 window), so at most every third call waits for
# a new 30-second step.
otp() {
    local secret
    secret=$(secret_of "$1")
    python3 - "$secret" "$T/otp-last-$1" <<'PY'
import base64, hashlib, hmac, os, struct, sys, time
secret, path = sys.argv[1].upper(), sys.argv[2]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
last = int(open(path).read()) if os.path.exists(path) else -1
while True:
    now = int(time.time()) // 30
    cands = [s for s in (now, now + 1) if s > last]
    if cands:
        break
    time.sleep(30 - time.time() % 30 + 0.2)
step = cands[0]
open(path, "w").write(str(step))
mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}

# s3api ARGS...: `aws s3api` against moat's S3 API (JSON answers; aws-cli 1 has no
# --only-show-errors for s3api).
s3api() { timeout 120 aws --endpoint-url "$EP" --ca-bundle "$CA" s3api "$@"; }

# toml_add TABLE LINE: adds LINE to the existing [TABLE] of $D/moat.toml, right after its header
# (a second [TABLE] header would be a TOML error).
toml_add() {
    awk -v t="[$1]" -v l="$2" '{print} $0 == t {print l}' "$D/moat.toml" > "$D/moat.toml.new"
    mv "$D/moat.toml.new" "$D/moat.toml"
}

# token_of PROFILE: the demo principal's API token from the credentials file.
token_of() {
    awk -v p="[$1]" '$0 == p {on=1; next} /^\[/ {on=0} on && $1 == "token" {print $3}' "$CREDS"
}

# admin_get PROFILE PATH: the admin API's JSON answer to GET PATH as that demo principal.
admin_get() {
    mcurl -H "Authorization: Bearer $(token_of "$1")" "https://localhost:$ADMIN_PORT$2"
}

# moat_stop: SIGTERM to the server started last, then waits (30 s at most) until it is gone:
# moat itself may drain connections for up to 10 s ([edge] drain_timeout) before the store stops.
moat_stop() {
    kill -TERM "$MOAT_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$MOAT_PID" 2>/dev/null || return 0; sleep 0.1; done
    echo "moat $MOAT_PID did not stop" >&2
    return 1
}
