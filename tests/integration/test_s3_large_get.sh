#!/usr/bin/env bash
# GetObject of large objects served zero-copy from the store's plaintext cache, against
# `moat serve --demo`: a single-part object and a multipart one (two segments, each cached on
# its own), fetched whole with a presigned URL and curl several times (the second read
# decrypts into the cache, later ones send from it) and in ranges, including ranges that
# cross the boundary between the two segments and a range asked for before the object was
# cached. Every body is compared byte for byte with what was uploaded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config
s3_demo_up

# 6 MiB in one PUT; 12 MiB with aws-cli's 8 MiB parts: segments of 8 MiB and 4 MiB.
head -c $((6 << 20)) /dev/urandom > "$T/one.bin"
head -c $((12 << 20)) /dev/urandom > "$T/two.bin"
check "put one" s3 s3 cp "$T/one.bin" s3://content/testing/large/one.bin
check "put two (multipart)" s3 s3 cp "$T/two.bin" s3://content/testing/large/two.bin
expect_match "two is multipart" \
    "$(s3 s3api head-object --bucket content --key testing/large/two.bin --query ETag --output text)" \
    '-2"?$'

# slice FILE FIRST LAST: bytes FIRST..LAST (inclusive) of FILE, as a Range answer has them.
slice() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count=$(($3 - $2 + 1)) status=none; }
# got_range NAME URL FILE FIRST LAST: a 206 with exactly those bytes.
got_range() {
    local code
    code=$(mcurl -r "$4-$5" -o "$T/range.out" -w '%{http_code}' "$2")
    slice "$3" "$4" "$5" > "$T/range.want"
    if [ "$code" = 206 ] && cmp -s "$T/range.out" "$T/range.want"; then
        pass "$1"
    else
        fail "$1: status $code, $(stat -c %s "$T/range.out" 2>/dev/null) bytes"
    fi
}

for name in one two; do
    URL=$(s3 s3 presign "s3://content/testing/large/$name.bin" --expires-in 300)
    # A range first: not admitted to the cache, served by decrypting the chunks it needs.
    got_range "$name: range before caching" "$URL" "$T/$name.bin" 100000 200000
    for i in 1 2 3; do
        rm -f "$T/get.out"
        mcurl -o "$T/get.out" "$URL"
        check "$name: whole GET $i byte-exact" cmp -s "$T/get.out" "$T/$name.bin"
    done
    got_range "$name: range from the cache" "$URL" "$T/$name.bin" 1 4194305
    got_range "$name: last byte" "$URL" "$T/$name.bin" $(($(stat -c %s "$T/$name.bin") - 1)) \
        $(($(stat -c %s "$T/$name.bin") - 1))
done
URL=$(s3 s3 presign s3://content/testing/large/two.bin --expires-in 300)
got_range "two: range across the segment boundary" "$URL" "$T/two.bin" $(((8 << 20) - 5000)) \
    $(((8 << 20) + 5000))
got_range "two: second segment alone" "$URL" "$T/two.bin" $((8 << 20)) $(((12 << 20) - 1))
# aws-cli's own GET (Range-free, SigV4 header auth) of the cached multipart object.
check "aws-cli get two" s3 s3 cp s3://content/testing/large/two.bin "$T/two.out"
check "aws-cli body byte-exact" cmp -s "$T/two.out" "$T/two.bin"
rm -f "$T"/*.bin "$T"/*.out "$T"/range.want

if kill -0 "$MOAT_PID"; then pass "server still running"; else fail "server died"; fi
finish
