# Shared helpers for the integration tests. Each test: `source lib.sh`, then moat_start with a
# config, then real clients (curl, nghttp, openssl, goaccess, chromium) against loopback.
# Every test gets its own temp dir and ports; everything it starts is stopped on exit.
set -euo pipefail

MOAT=${1:?usage: test_x.sh PATH_TO_MOAT}
MOAT=$(cd "$(dirname "$MOAT")" && pwd)/$(basename "$MOAT")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/moat-it.XXXXXX")
PIDS=()
FAILS=0

cleanup() {
    local p ours=()
    # Only processes still ours: the PID of one that ended earlier (a server stopped or killed
    # mid-test) may belong to anyone by now, as PIDs wrap quickly on a busy machine.
    for p in "${PIDS[@]}"; do
        [ "$(awk '{sub(/.*\) /, ""); print $2}' "/proc/$p/stat" 2>/dev/null)" = "$$" ] && ours+=("$p")
    done
    for p in "${ours[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${ours[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    release_ports
    if [ "$FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# A free TCP port on loopback (IPv4 and IPv6). Random rather than the kernel's bind(0) choice:
# tests started in the same instant (ctest -j) were seen to get the same port from bind(0).
# Below the kernel's ephemeral range: a port inside it can be taken by any client's outgoing
# connection between this check and the server's bind. The probe socket is closed again, so a
# port handed out is also reserved, until the test ends, by a file in $PORT_RESERVATIONS that
# names the test's shell: tests running side by side never get the same port, even before its
# server binds it. A reservation whose shell is gone (a test killed) is taken over.
PORT_RESERVATIONS=${TMPDIR:-/tmp}/moat-it-ports
free_port() {
    python3 - "$T/.ports" "$PORT_RESERVATIONS" "$$" <<'PY'
import os, random, socket, sys
mine, resdir, me = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(resdir, exist_ok=True)

def owner(path):
    try:
        return open(path).read().strip()
    except OSError:
        return ""

def reserve(port):
    path = os.path.join(resdir, str(port))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, me.encode())
        os.close(fd)
        return True
    except FileExistsError:
        pid = owner(path)
        if pid and os.path.exists("/proc/" + pid):
            return False
        tmp = "%s.%s" % (path, me)  # stale: replace it whole, then see who won
        with open(tmp, "w") as f:
            f.write(me)
        os.replace(tmp, path)
        return owner(path) == me

try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
for _ in range(500):
    port = random.randint(10000, max(low, 12000) - 1)
    try:
        for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            s = socket.socket(fam)
            s.bind((addr, port))
            s.close()
    except OSError:
        continue
    if not reserve(port):
        continue
    with open(mine, "a") as f:
        f.write("%d\n" % port)
    print(port)
    break
PY
}
# Drops this test's reservations (cleanup).
release_ports() {
    local port
    [ -f "$T/.ports" ] || return 0
    while read -r port; do
        [ "$(cat "$PORT_RESERVATIONS/$port" 2>/dev/null)" = "$$" ] && rm -f "$PORT_RESERVATIONS/$port"
    done <"$T/.ports"
    return 0
}

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
# check NAME COMMAND...: runs the command, records pass/fail.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }
# Here-strings, not `printf | grep -q`: grep -q exits at the first match, and a printf still
# writing then dies of SIGPIPE, which pipefail turns into a failed match.
expect_match() { if grep -Eq -- "$3" <<<"$2"; then pass "$1"; else fail "$1: '$2' does not match /$3/"; fi; }
expect_no_match() { if grep -Eq -- "$3" <<<"$2"; then fail "$1: '$2' matches /$3/"; else pass "$1"; fi; }
finish() { if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi; echo "all checks passed"; }

# wait_port PORT [SECONDS]: generous by default (a slow CI machine starting moat --demo); the
# poll returns as soon as the port opens.
wait_port() {
    local port=$1 secs=${2:-60} i
    for i in $(seq $((secs * 10))); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $port never opened" >&2
    return 1
}

# moat_start ARGS...: starts moat in the background (log in $T/moat.log), waits for $HTTPS_PORT.
moat_start() {
    "$MOAT" "$@" >>"$T/moat.log" 2>&1 &
    MOAT_PID=$!
    PIDS+=("$MOAT_PID")
    wait_port "${HTTPS_PORT:?}" || { cat "$T/moat.log"; return 1; }
    # The port may have been opened by another process: make sure it is moat's.
    for _ in $(seq 150); do
        listens_on "$MOAT_PID" "$HTTPS_PORT" && return 0
        kill -0 "$MOAT_PID" 2>/dev/null || { echo "moat exited:"; cat "$T/moat.log"; return 1; }
        sleep 0.1
    done
    echo "port $HTTPS_PORT is open, but not by moat:"
    cat "$T/moat.log"
    return 1
}

# listens_on PID PORT: whether process PID has a listening TCP socket on PORT (IPv4 or IPv6),
# from /proc alone: the socket inodes listening on the port, looked for among PID's fds.
listens_on() {
    local inode
    for inode in $(awk -v p="$(printf ':%04X' "$2")" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
        [ -n "$(find "/proc/$1/fd" -lname "socket:\[$inode\]" 2>/dev/null | head -1)" ] && return 0
    done
    return 1
}

# reload_outcomes: how many reloads (applied or refused) moat_start's moat has logged so far.
reload_outcomes() { grep -cE 'reloaded config|reload refused' "$T/moat.log" || true; }
# hup: SIGHUP to moat_start's moat, then waits (bounded, 30 s) until the log shows the reload's
# outcome, so the next step never overlaps a reload still reading its files.
hup() {
    local before
    before=$(reload_outcomes)
    kill -HUP "$MOAT_PID"
    for _ in $(seq 300); do [ "$(reload_outcomes)" -gt "$before" ] && return 0; sleep 0.1; done
    echo "no reload outcome logged within 30 s of SIGHUP" >&2
    return 1
}

# A site folder with the usual shapes: index, subfolder index, css, js, image, 404, dotfile.
make_site() {
    local d=$1 label=${2:-prod}
    mkdir -p "$d/docs" "$d/assets" "$d/.well-known" "$d/img"
    printf '<!doctype html><html><head><title>%s</title><link rel="stylesheet" href="/assets/site.css"></head><body><h1>%s home</h1><script src="/assets/app.js"></script></body></html>\n' "$label" "$label" > "$d/index.html"
    printf '<!doctype html><title>docs</title><p>%s docs</p>\n' "$label" > "$d/docs/index.html"
    printf '<!doctype html><title>404</title><p>%s not found page</p>\n' "$label" > "$d/404.html"
    python3 -c "import sys; sys.stdout.write('body { color: #333; }\n' * 200)" > "$d/assets/site.css"
    printf 'console.log("app loaded");\n' > "$d/assets/app.js"
    printf 'secret\n' > "$d/.env"
    printf 'hello security\n' > "$d/.well-known/security.txt"
    printf '\x89PNG\r\n\x1a\n%s' "fakepngdata" > "$d/img/logo.png"
    head -c 3000000 /dev/urandom > "$d/big.bin"
}

# curl against the test server with the test CA; extra args pass through.
# The bound is generous: on a loaded CI machine a handshake plus a few MB can take seconds.
mcurl() { curl -sS --max-time 30 --cacert "${CA:?}" "$@"; }
