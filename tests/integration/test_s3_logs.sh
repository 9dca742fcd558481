#!/usr/bin/env bash
# Logs land in the store's `logs` bucket, as the seed's S3 + CloudFront set-up logs to a bucket:
# S3 server access logs of `content` in AWS's format under S3/content/ (flushed every second
# here), and the edge's finished CloudFront-format log files under CloudFront/<env>/<site>/,
# after which the data folder no longer holds them. Read back with aws-cli.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config "" 'access_log_flush = "1s"'
mkdir -p "$D/logs/CloudFront/production/localhost"
# A log file of an hour long past, left in the data folder by an earlier run.
OLD="$D/logs/CloudFront/production/localhost/E2TESTDIST.2020-01-01-00.0a1b2c3d.gz"
printf '#Version: 1.0\n#Fields: date time\n2020-01-01\t00:00:01\n' | gzip -c > "$OLD"
touch -d '2020-01-01 01:00:00' "$OLD"
cp "$OLD" "$T/old.gz"

s3_demo_up
unset AWS_CA_BUNDLE

echo "hello logs" > "$T/a.txt"
check "put an object" s3 s3 cp "$T/a.txt" "s3://content/testing/logged key.txt" --only-show-errors
check "list content" s3 s3 ls s3://content/testing/

# Server access logs: objects under S3/content/ within a few seconds of the flush. Flushes may
# split the two requests over several objects, and the list may land a flush after the PUT:
# read them all, again, until both requests are there (bounded).
key=""
rm -rf "$T/sal" && mkdir -p "$T/sal"
: > "$T/sal.txt"
for _ in $(seq 30); do
    key=$(s3 s3api list-objects-v2 --bucket logs --prefix S3/content/ \
        --query 'Contents[0].Key' --output text 2>/dev/null)
    if [ -n "$key" ] && [ "$key" != "None" ]; then
        s3 s3 cp s3://logs/S3/content/ "$T/sal/" --recursive --only-show-errors
        cat "$T"/sal/* > "$T/sal.txt" 2>/dev/null
        grep -q ' REST.PUT.OBJECT ' "$T/sal.txt" && grep -q ' REST.GET.BUCKET ' "$T/sal.txt" && break
    fi
    sleep 0.25
done
expect_match "access log object named as AWS names them" "$key" \
    '^S3/content/[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9A-F]{16}$'
check "download access logs" s3 s3 cp s3://logs/S3/content/ "$T/sal/" --recursive --only-show-errors
cat "$T"/sal/* > "$T/sal.txt" 2>/dev/null
put_line=$(grep ' REST.PUT.OBJECT ' "$T/sal.txt" | head -1)
expect_match "PUT recorded with its key URL-encoded" "$put_line" ' testing/logged%20key.txt '
expect_match "requester, SigV4, cipher, host and TLS version recorded" "$put_line" \
    ' demo-deployer .* SigV4 [A-Z0-9_-]+ AuthHeader localhost:[0-9]+ TLSv1\.[23] - -$'
expect_match "time in AWS's bracketed form" "$put_line" '\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\]'
expect_match "list recorded" "$(cat "$T/sal.txt")" ' REST.GET.BUCKET '
if grep -q ' logs \[' "$T/sal.txt"; then
    fail "requests against the logs bucket were logged into it"
else
    pass "the logs bucket does not log itself"
fi

# CloudFront-format logs: the old hour's file moves into logs/CloudFront/production/localhost/.
shipped=""
for _ in $(seq 40); do
    shipped=$(s3 s3api list-objects-v2 --bucket logs --prefix CloudFront/production/localhost/ \
        --query 'Contents[0].Key' --output text 2>/dev/null)
    [ -n "$shipped" ] && [ "$shipped" != "None" ] && break
    sleep 0.25
done
expect_eq "CloudFront log shipped under its name" "$shipped" \
    "CloudFront/production/localhost/E2TESTDIST.2020-01-01-00.0a1b2c3d.gz"
check "download shipped log" s3 s3 cp "s3://logs/$shipped" "$T/shipped.gz" --only-show-errors
check "shipped bytes identical" cmp "$T/old.gz" "$T/shipped.gz"
for _ in $(seq 20); do [ -e "$OLD" ] || break; sleep 0.1; done
if [ -e "$OLD" ]; then fail "the shipped file is still in the data folder"; else pass "local copy removed after the store acknowledged it"; fi
# This hour's file (from the requests above, if any) stays local until its hour is over.
check "edge still serves" mcurl -o /dev/null "https://localhost:$HTTPS_PORT/"
finish
