# Shared by the test_s3_*.sh scripts (sourced after lib.sh): `moat serve --demo` with every
# listener on a free port, its S3 API and its demo deployer key, and aws-cli set up for it.

# s3_demo_config [HOSTS] [S3_KEYS] [SECTIONS]: writes $D/moat.toml (--demo keeps an existing
# one). HOSTS is the TOML list of [s3] hosts, S3_KEYS more lines for [s3], SECTIONS more tables.
s3_demo_config() {
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
workers = 1
${3:-}
[s3]
listen = ["127.0.0.1:$S3_PORT"]
hosts = ${1:-[\"localhost\"]}
${2:-}
[admin]
listen = ["127.0.0.1:$ADMIN_PORT"]
[sites."localhost"]
root = "demo/production"
TOML
}

# s3_demo_up: starts moat and waits for the S3 port and the demo credentials; sets CA, EP, AK,
# SK and the AWS_* environment (path-style addressing, SigV4 presigning) for aws-cli and boto3.
s3_demo_up() {
    moat_start serve --demo --data "$D"
    wait_port "$S3_PORT"
    # moat writes the key (atomically, by rename) after its listeners open: wait for it, bounded.
    for _ in $(seq 300); do [ -s "$D/demo-s3-credentials" ] && break; sleep 0.1; done
    [ -s "$D/demo-s3-credentials" ] || { echo "no demo-s3-credentials:"; cat "$T/moat.log"; return 1; }
    export CA="$D/ca/root.crt"
    EP="https://localhost:$S3_PORT"
    AK=$(awk '/^aws_access_key_id/ {print $3}' "$D/demo-s3-credentials")
    SK=$(awk '/^aws_secret_access_key/ {print $3}' "$D/demo-s3-credentials")
    export AWS_SHARED_CREDENTIALS_FILE="$D/demo-s3-credentials" AWS_PROFILE=moat-demo
    export AWS_CONFIG_FILE="$T/aws-config"
    # aws-cli v1 presigns with SigV2 unless told otherwise; moat speaks SigV4 only.
    printf '[profile moat-demo]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' \
        > "$AWS_CONFIG_FILE"
}

# s3 ARGS...: aws-cli against moat, bounded in time; s3 cp/mv/rm/sync print only errors.
s3() {
    local quiet=()
    if [ "$1" = s3 ] && [[ "$2" =~ ^(cp|mv|rm|sync)$ ]]; then quiet=(--only-show-errors); fi
    timeout 120 aws --endpoint-url "$EP" --ca-bundle "$CA" "$@" "${quiet[@]}"
}
