#!/usr/bin/env bash
# `moat config check` on [acme] sections: every bad value is reported as file:line:col with its
# key, secrets are never echoed, and a good section passes.
source "$(dirname "$0")/lib.sh"
make_site "$T/site" prod
printf 'c2VjcmV0\n' > "$T/tsig.secret"

cat > "$T/bad.toml" <<EOF
data_dir = "$T/data"
[sites."site.example.test"]
root = "$T/site"
tls = "acme"
[acme]
directory = "http://ca.example/dir"
contact = ["not an address"]
ca_bundle = "$T/missing.pem"
challenge = "dns-02"
renew_before_fraction = 1.5
key_type = ["ecdsa-p384"]
eab_kid = "kid-only"
typo_key = 1
[acme.dns]
server = "bad host:53"
tsig_name = "k"
tsig_secret = "not*base64*TOPSECRET"
tsig_algorithm = "hmac-md5"
EOF
out=$("$MOAT" config check "$T/bad.toml" || true)
echo "$out"
for k in directory contact ca_bundle challenge renew_before_fraction key_type typo_key \
    acme.dns.server acme.dns.tsig_secret acme.dns.tsig_algorithm; do
    expect_match "error for $k" "$out" "bad.toml:[0-9]+:[0-9]+: (acme\\.)?$k: "
done
expect_match "eab pair" "$out" 'eab_kid and eab_hmac_key go together'
expect_no_match "secret not echoed" "$out" 'TOPSECRET'

cat > "$T/dns01.toml" <<EOF
[sites."site.example.test"]
root = "$T/site"
tls = "acme"
[acme]
challenge = "dns-01"
EOF
expect_match "dns-01 without [acme.dns]" "$("$MOAT" config check "$T/dns01.toml" || true)" 'dns-01 needs \[acme.dns\]'

cat > "$T/good.toml" <<EOF
data_dir = "$T/data"
[sites."site.example.test"]
root = "$T/site"
tls = "acme"
[acme]
directory = "https://acme-staging-v02.api.letsencrypt.org/directory"
contact = "ops@example.test"
key_type = ["ecdsa-p256", "rsa2048"]
[acme.dns]
server = "127.0.0.1:5353"
zone = "example.test."
tsig_name = "acme-key"
tsig_secret_file = "$T/tsig.secret"
[acme.extra_names]
"site.example.test" = ["mta-sts.example.test"]
EOF
out=$("$MOAT" config check "$T/good.toml")
expect_match "good config passes" "$out" 'ok, 1 site\(s\), 0 warning'
expect_no_match "rsa2048 is served: no warning" "$out" 'key_type'
finish
