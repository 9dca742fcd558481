#!/usr/bin/env bash
# Installs the Debian 12 packages moat needs to build and test, skipping what is present.
# Usage: scripts/install-deps.sh [build|test|bench]   (test implies build; bench implies test)
set -euo pipefail
what=${1:-build}
build=(g++ cmake ninja-build pkg-config libssl-dev libnghttp2-dev libasio-dev libbrotli-dev zlib1g-dev
       libzstd-dev libsqlite3-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
       libfmt-dev libgtest-dev libgmock-dev libcurl4-openssl-dev libunbound-dev libldns-dev
       libqrencode-dev)
test=(curl nghttp2-client openssl goaccess chromium clang libclang-rt-14-dev python3 procps iproute2
      brotli zstd gzip libnss3-tools awscli rclone s3cmd python3-boto3 pebble knot knot-dnsutils
      unbound postfix postfix-mta-sts-resolver testssl.sh swaks nginx)
bench=(nginx libnginx-mod-http-brotli-static h2o caddy wrk brotli)
pkgs=("${build[@]}")
[ "$what" = test ] || [ "$what" = bench ] && pkgs+=("${test[@]}")
[ "$what" = bench ] && pkgs+=("${bench[@]}")
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# postfix asks how it should be configured; the mail tests write their own main.cf.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
