#!/usr/bin/env bash
# s3_get_cpu.sh [--gets 100] [--rounds 3] [--size 8388608] NAME=MOAT_BINARY...
#
# Server CPU per large GET over HTTPS, as a user sees it: each moat binary's S3 API (a
# presigned URL of one object of --size random bytes, served from the store's plaintext
# cache after the first GET) against nginx serving a file of the same bytes. Every server is
# pinned to CPU 0 (taskset), curl to CPU 1; one curl per target and round fetches the URL
# --gets times over one TLS 1.3 connection (TLS_AES_256_GCM_SHA384 everywhere) after one GET
# to warm up, and the server's CPU time is read from /proc/<pid>/stat (utime + stime of the
# process and its children) before and after. The order of the targets rotates each round;
# medians of the rounds are printed with each target's CPU per GET over nginx's.
# Needs nginx, aws (aws-cli, to upload and presign), curl, openssl. Work files in a temp dir.
set -uo pipefail
GETS=100 ROUNDS=3 SIZE=$((8 << 20))
MOATS=()
while [ $# -gt 0 ]; do
  case $1 in
    --gets) GETS=$2; shift 2;;
    --rounds) ROUNDS=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *=*) MOATS+=("$1"); shift;;
    *) echo "s3_get_cpu.sh: unknown argument $1" >&2; exit 2;;
  esac
done
[ ${#MOATS[@]} -gt 0 ] || { echo "s3_get_cpu.sh: give NAME=MOAT_BINARY" >&2; exit 2; }
W=$(mktemp -d)
chmod 755 "$W"  # nginx's workers run as an unprivileged user and must read the file
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
TICK=$(getconf CLK_TCK)
# CPU clock ticks (user + system) of a process and its children so far.
ticks() {
  local p t=0 c
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    c=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + c))
  done
  echo "$t"
}
head -c "$SIZE" /dev/urandom > "$W/obj.bin"

# ---- nginx, the same file over HTTPS ----
mkdir -p "$W/nginx/root" "$W/nginx/tmp"
cp "$W/obj.bin" "$W/nginx/root/obj.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$W/nginx/key.pem" -out "$W/nginx/cert.pem" 2>/dev/null
NPORT=$(free_port)
cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx/pid;
error_log $W/nginx/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  client_body_temp_path $W/nginx/tmp/body; proxy_temp_path $W/nginx/tmp/proxy;
  fastcgi_temp_path $W/nginx/tmp/fcgi; uwsgi_temp_path $W/nginx/tmp/uwsgi; scgi_temp_path $W/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $W/nginx/cert.pem; ssl_certificate_key $W/nginx/key.pem;
    ssl_protocols TLSv1.3;
    root $W/nginx/root;
  }
}
EOF
taskset -c 0 nginx -e "$W/nginx/error.log" -p "$W/nginx" -c "$W/nginx/nginx.conf" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
NAMES=(nginx) SPID=([0]=$!) URLS=([0]="https://localhost:$NPORT/obj.bin") CAS=([0]="$W/nginx/cert.pem")
wait_port "$NPORT" || { echo "nginx did not start" >&2; exit 1; }

# ---- each moat: serve --demo, upload the object, presign ----
for m in "${MOATS[@]}"; do
  name=${m%%=*} bin=${m#*=} D="$W/$name"
  mkdir -p "$D"
  S3P=$(free_port)
  cat > "$D/moat.toml" <<EOF
data_dir = "."
[edge]
https = ["127.0.0.1:$(free_port)"]
http = ["127.0.0.1:$(free_port)"]
metrics = ""
workers = 1
[s3]
listen = ["127.0.0.1:$S3P"]
hosts = ["localhost"]
[admin]
listen = ["127.0.0.1:$(free_port)"]
[sites."localhost"]
root = "demo/production"
EOF
  taskset -c 0 "$bin" serve --demo --data "$D" >"$D/stdout.log" 2>&1 &
  PIDS+=($!)
  i=${#NAMES[@]}
  NAMES[i]=$name SPID[i]=$! CAS[i]="$D/ca/root.crt"
  wait_port "$S3P" || { echo "$name did not start" >&2; exit 1; }
  for _ in $(seq 50); do [ -s "$D/demo-s3-credentials" ] && break; sleep 0.1; done
  printf '[profile moat-demo]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' > "$D/aws-config"
  aws_m() {
    AWS_SHARED_CREDENTIALS_FILE="$D/demo-s3-credentials" AWS_PROFILE=moat-demo AWS_CONFIG_FILE="$D/aws-config" \
      timeout 120 aws --endpoint-url "https://localhost:$S3P" --ca-bundle "${CAS[i]}" "$@"
  }
  aws_m s3 cp --only-show-errors "$W/obj.bin" s3://content/bench/obj.bin || exit 1
  URLS[i]=$(aws_m s3 presign s3://content/bench/obj.bin --expires-in 3600) || exit 1
done

# One warm-up GET each (moat: the first whole read fills its plaintext cache), checked.
for i in "${!NAMES[@]}"; do
  taskset -c 1 curl -sS --cacert "${CAS[i]}" -o "$W/check.bin" "${URLS[i]}" && cmp -s "$W/check.bin" "$W/obj.bin" ||
    { echo "${NAMES[i]}: warm-up GET failed or differs" >&2; exit 1; }
done
rm -f "$W/check.bin"

declare -A CPU WALL
n=${#NAMES[@]}
for r in $(seq "$ROUNDS"); do
  for k in $(seq 0 $((n - 1))); do
    i=$(((k + r) % n))
    args=()
    for _ in $(seq "$GETS"); do args+=(-o /dev/null "${URLS[i]}"); done
    t0=$(ticks "${SPID[i]}") s0=$(date +%s.%N)
    taskset -c 1 curl -sS --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 --cacert "${CAS[i]}" "${args[@]}" ||
      { echo "${NAMES[i]}: GET failed" >&2; exit 1; }
    s1=$(date +%s.%N) t1=$(ticks "${SPID[i]}")
    us=$(awk -v d=$((t1 - t0)) -v g="$GETS" -v hz="$TICK" 'BEGIN {printf "%.0f", d / hz * 1e6 / g}')
    wall=$(awk -v a="$s0" -v b="$s1" -v g="$GETS" 'BEGIN {printf "%.0f", (b - a) * 1e6 / g}')
    CPU[$i]+="$us " WALL[$i]+="$wall "
    printf 'round %d %-10s server cpu %6d us/GET  client wall %6d us/GET\n' "$r" "${NAMES[i]}" "$us" "$wall"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
base=$(median <<<"${CPU[0]}")
for i in "${!NAMES[@]}"; do
  c=$(median <<<"${CPU[$i]}") w=$(median <<<"${WALL[$i]}")
  printf 'median %-10s server cpu %6s us/GET (%s x nginx)  client wall %6s us/GET\n' "${NAMES[i]}" "$c" \
    "$(awk -v a="$c" -v b="$base" 'BEGIN {printf "%.2f", a / b}')" "$w"
done
