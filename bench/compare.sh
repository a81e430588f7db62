#!/usr/bin/env bash
# Side-by-side benchmark of this server and Bun's seed server (the guide's
# own code under Bun 1.4.4), in one run on one machine, with the shared load
# tool (../shared/bench). Prints both summaries and the ratios the README
# quotes.
#
#   bench/compare.sh                 # scenarios a b c, 3 runs each, pinned
#   SCENARIOS=a REPEATS=1 bench/compare.sh
#   IDLE_N=10000 bench/compare.sh    # also idle memory per connection (0 skips)
#
# Environment: SHARED (../shared/bench beside the repository), BUN (the bun
# binary; installed from npm into /tmp/chatbench when missing), PIN (1:
# server on CPU 0, load tool on CPU 1), IDLE_N (0), HOLD (20s), OUT
# (/tmp/chatbench/compare-<time>), and run.sh's own knobs (SCENARIOS,
# REPEATS, DURATION, ...). The server runs with the rate limit off, since
# the load tool sends tens of thousands of messages per second per client.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
BUN=${BUN:-/tmp/chatbench/node_modules/@oven/bun-linux-x64/bin/bun}
OUT=${OUT:-/tmp/chatbench/compare-$(date +%Y%m%d-%H%M%S)}
IDLE_N=${IDLE_N:-0}
export PIN=${PIN:-1}

if [ ! -x "$BUN" ]; then
  mkdir -p /tmp/chatbench
  (cd /tmp/chatbench && npm install --no-save @oven/bun-linux-x64@1.4.4 >/dev/null)
fi
mkdir -p "$OUT/bin"
(cd "$ROOT" && go build -o "$OUT/bin/chat" .)
CHAT=("$OUT/bin/chat" -addr '127.0.0.1:{PORT}' -rate-limit 0)
SEED=("$BUN" "$SHARED/seed-server.ts")

OUTDIR=$OUT/bun "$SHARED/run.sh" bun-seed "${SEED[@]}"
OUTDIR=$OUT/chat "$SHARED/run.sh" chat "${CHAT[@]}"

if [ "$IDLE_N" -gt 0 ]; then
  OUTDIR=$OUT/idle-bun "$SHARED/wsload/idle.sh" bun-seed "$IDLE_N" "${SEED[@]}" || true
  OUTDIR=$OUT/idle-chat "$SHARED/wsload/idle.sh" chat "$IDLE_N" "${CHAT[@]}" || true
fi

# median of key over the accepted runs of scenario sc in a results file
median() {
  grep " scenario=$2 " "$1" | grep -v ' error=' | grep -o " $3=[^ ]*" | cut -d= -f2 | sort -g |
    awk '{v[NR]=$1} END{ if (NR==0) {print "nan"; exit}
      print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2 }'
}
{
  echo "# chat vs Bun seed, $(date -u +%Y-%m-%d), $(nproc) cores, PIN=$PIN"
  echo
  echo "| scenario | deliveries/s bun | deliveries/s chat | ratio | p99 ms bun | p99 ms chat | server us/delivery bun | chat | lost+dup+reorder chat |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for sc in ${SCENARIOS:-a b c}; do
    b=$(median "$OUT/bun/results.txt" "$sc" delivered_per_s)
    c=$(median "$OUT/chat/results.txt" "$sc" delivered_per_s)
    errs=$(grep " scenario=$sc " "$OUT/chat/results.txt" |
      awk '{for(i=1;i<=NF;i++){split($i,kv,"="); if(kv[1]=="lost"||kv[1]=="dup"||kv[1]=="reorder") s+=kv[2]}} END{print s+0}')
    printf '| %s | %s | %s | %.2f | %s | %s | %s | %s | %s |\n' "$sc" "$b" "$c" \
      "$(awk -v b="$b" -v c="$c" 'BEGIN{print (b>0)? c/b : 0}')" \
      "$(median "$OUT/bun/results.txt" "$sc" p99_ms)" "$(median "$OUT/chat/results.txt" "$sc" p99_ms)" \
      "$(median "$OUT/bun/results.txt" "$sc" srv_us_per_del)" "$(median "$OUT/chat/results.txt" "$sc" srv_us_per_del)" \
      "$errs"
  done
  for who in bun chat; do
    f=$OUT/idle-$who/wsload.txt
    [ -f "$f" ] && echo && echo "idle $who: $(grep '^RESULT' "$f" | tail -1)"
  done
} | tee "$OUT/compare.md"
echo "all output in $OUT"
