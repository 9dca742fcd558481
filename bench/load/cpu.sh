#!/usr/bin/env bash
# cpu.sh — server CPU per request, the figure that survives a noisy machine.
#
#   cpu.sh [--rounds 3] [--duration 5] [--scenarios a,b,c,d,e,f] [--client-cpus 1] NAME=URL...
#
# Runs the six scenarios of run.sh (same load commands) against each target in turn, the
# order of the targets rotating each round, and reads the CPU time the server used from
# /proc/<pid>/stat (utime + stime of the pid in $MOAT_BENCH_DIR/peers/NAME/pid and of all its
# descendants: nginx's workers, h2o's children). Prints, per scenario and target, the median
# of the rounds of requests/s and of server CPU microseconds per request, and the ratio of
# each target's CPU per request to the cheapest peer's (below 1: cheaper).
#
# Why: on a shared 2-core machine the requests/s of one run move by up to 30% (other load,
# the client's own CPU), and rounds of run.sh rank the servers differently. The CPU a server
# spends per request moves far less, and it is what the server controls: a server that
# needs less CPU per request serves more requests on a core that is not shared.
# Start the servers first: SERVER_CPUS=0 peers.sh start; SERVER_CPUS=0 moat.sh start BIN.
set -uo pipefail
B=${MOAT_BENCH_DIR:-/tmp/moat-bench}
ROUNDS=3 DURATION=5 SCENARIOS=a,b,c,d,e,f CLIENT_CPUS=1 HS_CONC=${HS_CONC:-16}
TARGETS=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2;;
    --duration) DURATION=$2; shift 2;;
    --scenarios) SCENARIOS=$2; shift 2;;
    --client-cpus) CLIENT_CPUS=$2; shift 2;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    *=*) TARGETS+=("$1"); shift;;
    *) echo "cpu.sh: unknown argument $1" >&2; exit 2;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || { echo "cpu.sh: give NAME=URL targets" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] ||
  { echo "cpu.sh: --rounds and --duration are positive integers" >&2; exit 2; }
PIN=(taskset -c "$CLIENT_CPUS")
LIMIT=$((DURATION + 30))
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# The same client TLS settings as run.sh (AES-128-GCM first, as browsers).
export OPENSSL_CONF=$(cd "$(dirname "$0")" && pwd)/client-openssl.cnf

# The server's pid and every descendant's.
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}
# Clock ticks of CPU (user + system) used so far by the target's processes.
cpu_ticks() {
  local pid t=0 p
  pid=$(tr -dc 0-9 < "$B/peers/$1/pid" 2>/dev/null)
  [ -n "$pid" ] || { echo "cpu.sh: no pid file for $1 in $B/peers/$1" >&2; exit 1; }
  for p in $(tree_pids "$pid"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# load SCEN URL -> number of requests completed
load() {
  local scen=$1 url=$2 hp out n i
  case $scen in
    a) out=$(timeout -k 5 $LIMIT "${PIN[@]}" h2load -t1 -c 10 -m 10 -D "$DURATION" \
               -H 'accept-encoding: br' "$url/index.html" 2>&1);;
    b) out=$(timeout -k 5 $LIMIT "${PIN[@]}" wrk -t1 -c 64 -d "${DURATION}s" \
               -H 'Accept-Encoding: br' "$url/index.html" 2>&1);;
    c) out=$(timeout -k 5 $LIMIT "${PIN[@]}" h2load -t1 -c 10 -m 1 -D "$DURATION" \
               "$url/files/large.bin" 2>&1);;
    e) for i in $(seq 0 499); do printf '%s/many/p%03d.html\n' "$url" "$i"; done > "$OUT/paths"
       out=$(timeout -k 5 $LIMIT "${PIN[@]}" h2load -t1 -c 10 -m 10 -D "$DURATION" \
               -H 'accept-encoding: br' -i "$OUT/paths" 2>&1);;
    f) out=$(timeout -k 5 $LIMIT "${PIN[@]}" wrk -t1 -c 32 -d "${DURATION}s" -H 'Connection: close' \
               -H 'Accept-Encoding: br' "$url/index.html" 2>&1);;
    d) hp=${url#https://}; hp=${hp%%/*}
       for i in $(seq 1 "$HS_CONC"); do
         timeout -k 5 $LIMIT "${PIN[@]}" openssl s_time -connect "$hp" -new -time "$DURATION" \
           -www /index.html > "$OUT/stime.$i" 2>&1 &
       done
       wait
       cat "$OUT"/stime.* | awk '/connections in .* real seconds/{c+=$1} END{print c+0}'
       return;;
  esac
  case $scen in
    a|c|e) n=$(echo "$out" | awk '/^requests:/{print $8}');;
    b|f) n=$(echo "$out" | awk '/requests in/{print $1}');;
  esac
  echo "${n:-0}"
}

median() { sort -n | awk '{a[NR]=$1} END{ if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2); else print 0 }'; }

HZ=$(getconf CLK_TCK)
IFS=, read -r -a SCENS <<< "$SCENARIOS"
for scen in "${SCENS[@]}"; do
  for r in $(seq 1 "$ROUNDS"); do
    n=${#TARGETS[@]}
    for k in $(seq 0 $((n - 1))); do
      t=${TARGETS[$(((k + r - 1) % n))]}
      name=${t%%=*} url=${t#*=}
      t0=$(cpu_ticks "$name")
      reqs=$(load "$scen" "$url")
      t1=$(cpu_ticks "$name")
      [ "$reqs" -gt 0 ] 2>/dev/null || { echo "cpu.sh: $name $scen: no requests completed" >&2; continue; }
      echo "$scen $name $((reqs / DURATION)) $(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$HZ" \
        'BEGIN{printf "%.2f", d * 1e6 / hz / n}')" >> "$OUT/raw"
    done
  done
done

printf '%-3s %-8s %12s %14s %12s\n' scen target "req/s (med)" "CPU us/req" "CPU ratio"
for scen in "${SCENS[@]}"; do
  best=
  for t in "${TARGETS[@]}"; do
    name=${t%%=*}
    c=$(awk -v s="$scen" -v n="$name" '$1==s && $2==n {print $4}' "$OUT/raw" | median)
    echo "$name $c" >> "$OUT/$scen.cpu"
    [ "$name" = moat ] && continue
    if [ -z "$best" ] || awk -v a="$c" -v b="$best" 'BEGIN{exit !(a > 0 && a < b)}'; then best=$c; fi
  done
  for t in "${TARGETS[@]}"; do
    name=${t%%=*}
    rps=$(awk -v s="$scen" -v n="$name" '$1==s && $2==n {print $3}' "$OUT/raw" | median)
    c=$(awk -v n="$name" '$1==n {print $2}' "$OUT/$scen.cpu")
    printf '%-3s %-8s %12s %14s %12s\n' "$scen" "$name" "$rps" "$c" \
      "$(awk -v a="$c" -v b="${best:-0}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }')"
  done
done
echo "(per-run figures: scenario target req/s cpu_us/req)"
cat "$OUT/raw"
