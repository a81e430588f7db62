#!/usr/bin/env bash
# Does one client that stops reading hurt the others? Runs the shared load
# tool's scenario a (16 clients as fast as a window of 32 allows) against
# this server, alternately alone and with one extra WebSocket client that
# upgrades and then never reads. Prints, per run, the others' throughput
# and p99, the server's peak memory (VmHWM), and how the slow reader was
# closed.
#
#   bench/slow-reader.sh             # 3 runs of each, pinned like compare.sh
#
# Environment: SHARED (../shared/bench beside the repository), RUNS (3),
# DURATION (10s), OUT (/tmp/chatbench/slow-<time>).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
OUT=${OUT:-/tmp/chatbench/slow-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/bin"
(cd "$ROOT" && go build -o "$OUT/bin/chat" .)
(cd "$SHARED/wsload" && go build -o "$OUT/bin/wsload" .)

run() { # $1: label, $2: 1 to add a slow reader
  local port=$((20000 + RANDOM % 10000)) log=$OUT/server-$1.log
  taskset -c 0 "$OUT/bin/chat" -addr "127.0.0.1:$port" -rate-limit 0 2>"$log" &
  local srv=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  if [ "$2" = 1 ]; then
    # An upgrade on a socket this shell keeps open and never reads.
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: username=slow\r\n\r\n' >&3
  fi
  taskset -c 1 "$OUT/bin/wsload" -url "ws://127.0.0.1:$port/" -clients 16 -rate 0 -window 32 \
    -duration "$DURATION" -warmup 2s -server-pid "$srv" -label "$1" >"$OUT/wsload-$1.txt" 2>&1 || true
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$srv/status")
  [ "$2" = 1 ] && exec 3>&-
  kill "$srv"; wait "$srv" 2>/dev/null || true
  local res
  res=$(grep '^RESULT' "$OUT/wsload-$1.txt" | grep -oE '(delivered_per_s|p99_ms|lost|dup|reorder)=[^ ]*' | tr '\n' ' ')
  local closed
  closed=$(grep -o 'msg="slow consumer closed".*' "$log" | head -1 || true)
  echo "$1: $res peak_rss_kb=$hwm ${closed:+slow reader: $closed}"
}

for i in $(seq "$RUNS"); do
  run "alone-$i" 0
  run "with-slow-reader-$i" 1
done | tee "$OUT/summary.txt"
echo "all output in $OUT"
