#!/usr/bin/env bash
# Crash safety through the S3 API: boto3 uploads objects (single PUTs and multipart) in a loop
# while moat is killed with SIGKILL at random moments, three times. After each restart every
# acknowledged object reads back byte-exact, and every listed object is whole (each key's
# bytes are known in advance, so a partial or mixed object cannot pass).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config
start_moat() { s3_demo_up; }
start_moat

cat > "$T/crash.py" <<'PY'
import hashlib, os, random, sys
import boto3
from botocore.config import Config

mode, ep, ca, ak, sk, acked = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=ep, verify=ca, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                connect_timeout=2, read_timeout=10))

def content(n):
    """The bytes of object n: known in advance, so a partial object is detectable."""
    rnd = random.Random(n)
    size = rnd.choice([0, 1, 1000, 70000, 300000, 2_000_000, 11 << 20])
    block = hashlib.sha256(str(n).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]

if mode == "upload":
    n = int(sys.argv[7])
    open(acked + ".started", "w").close()  # python and boto3 are loaded: uploads begin now
    with open(acked, "a") as log:
        while True:
            data = content(n)
            key = f"testing/crash/{n:06d}"
            try:
                if len(data) > 8 << 20:
                    mp = s3.create_multipart_upload(Bucket="content", Key=key)
                    parts, off, i = [], 0, 1
                    while off < len(data):
                        piece = data[off:off + (5 << 20)]
                        r = s3.upload_part(Bucket="content", Key=key, UploadId=mp["UploadId"],
                                           PartNumber=i, Body=piece)
                        parts.append({"PartNumber": i, "ETag": r["ETag"]})
                        off += len(piece)
                        i += 1
                    s3.complete_multipart_upload(Bucket="content", Key=key, UploadId=mp["UploadId"],
                                                 MultipartUpload={"Parts": parts})
                else:
                    s3.put_object(Bucket="content", Key=key, Body=data)
            except Exception:
                sys.exit(0)  # the server died under us
            log.write(f"{n}\n")
            log.flush()
            n += 1
else:  # verify
    bad = 0
    done = {int(l) for l in open(acked)} if os.path.exists(acked) else set()
    for n in sorted(done):
        got = s3.get_object(Bucket="content", Key=f"testing/crash/{n:06d}")["Body"].read()
        if got != content(n):
            print(f"FAIL: acknowledged object {n} reads back wrong ({len(got)} bytes)")
            bad += 1
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="content", Prefix="testing/crash/"):
        listed += page.get("Contents", [])
    for o in listed:
        n = int(o["Key"].rsplit("/", 1)[1])
        want = content(n)
        got = s3.get_object(Bucket="content", Key=o["Key"])["Body"].read()
        if o["Size"] != len(want) or got != want:
            print(f"FAIL: listed object {n} is not whole ({o['Size']} of {len(want)} bytes)")
            bad += 1
    missing = done - {int(o["Key"].rsplit("/", 1)[1]) for o in listed}
    if missing:
        print(f"FAIL: acknowledged objects not listed: {sorted(missing)[:5]}")
        bad += 1
    print(f"verified {len(done)} acknowledged, {len(listed)} listed")
    sys.exit(1 if bad else 0)
PY

NEXT=0
for round in 1 2 3; do
    rm -f "$T/acked.started"
    timeout 60 python3 "$T/crash.py" upload "$EP" "$CA" "$AK" "$SK" "$T/acked" "$NEXT" &
    UP=$!
    # The random moment counts from the first upload, not from python's start (slow under load).
    for _ in $(seq 300); do [ -e "$T/acked.started" ] && break; sleep 0.1; done
    sleep "$(python3 -c 'import random; print(round(random.uniform(1.0, 3.0), 2))')"
    kill -KILL "$MOAT_PID"
    # Reaped before the restart: the new server must never meet the old one on its ports.
    wait "$MOAT_PID" 2>/dev/null || true
    wait "$UP" || true
    start_moat
    check "round $round: acknowledged objects intact, no partial object listed" \
        timeout 120 python3 "$T/crash.py" verify "$EP" "$CA" "$AK" "$SK" "$T/acked"
    NEXT=$(( $(wc -l < "$T/acked") + 1000 * round ))
done
expect_match "uploads were acknowledged" "$(wc -l < "$T/acked")" "^[1-9]"
finish
