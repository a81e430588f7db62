#!/usr/bin/env bash
# Side-by-side benchmark of this server and Bun's seed server (the guide's
# own code under Bun 1.4.4), on one machine, with the shared load tool
# (../shared/bench). The two servers take turns: each round runs every
# scenario once against each, and the side that goes first alternates, so
# that drift in the machine's speed hits both alike. Every chat run is
# compared with the Bun run of its own round; the summary gives medians and
# the ratio of each pair.
#
#   bench/compare.sh                 # scenarios a b c, 3 rounds, pinned
#   SCENARIOS="b c" ROUNDS=7 bench/compare.sh
#   IDLE_N=10000 bench/compare.sh    # also idle memory per connection (0 skips)
#
# Environment: SHARED (../shared/bench beside the repository), BUN (the bun
# binary; installed from npm into /tmp/chatbench when missing), PIN (1:
# server on CPU 0, load tool on CPU 1), ROUNDS (3), IDLE_N (0), HOLD (20s),
# OUT (/tmp/chatbench/compare-<time>), and run.sh's own knobs (SCENARIOS,
# DURATION, ...). The server runs with the rate limit off, since the load
# tool sends tens of thousands of messages per second per client.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
BUN=${BUN:-/tmp/chatbench/node_modules/@oven/bun-linux-x64/bin/bun}
OUT=${OUT:-/tmp/chatbench/compare-$(date +%Y%m%d-%H%M%S)}
ROUNDS=${ROUNDS:-3}
IDLE_N=${IDLE_N:-0}
SCENARIOS=${SCENARIOS:-a b c}
export PIN=${PIN:-1} SCENARIOS REPEATS=1

if [ ! -x "$BUN" ]; then
  mkdir -p /tmp/chatbench
  (cd /tmp/chatbench && npm install --no-save @oven/bun-linux-x64@1.4.4 >/dev/null)
fi
mkdir -p "$OUT/bin"
(cd "$ROOT" && go build -o "$OUT/bin/chat" .)
CHAT=("$OUT/bin/chat" -addr '127.0.0.1:{PORT}' -rate-limit 0)
SEED=("$BUN" "$SHARED/seed-server.ts")

side() { # $1: bun or chat, $2: round
  if [ "$1" = bun ]; then
    OUTDIR=$OUT/bun-$2 "$SHARED/run.sh" bun-seed "${SEED[@]}"
  else
    OUTDIR=$OUT/chat-$2 "$SHARED/run.sh" chat "${CHAT[@]}"
  fi
}
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then side bun "$r"; side chat "$r"; else side chat "$r"; side bun "$r"; fi
done

if [ "$IDLE_N" -gt 0 ]; then
  OUTDIR=$OUT/idle-bun "$SHARED/wsload/idle.sh" bun-seed "$IDLE_N" "${SEED[@]}" || true
  OUTDIR=$OUT/idle-chat "$SHARED/wsload/idle.sh" chat "$IDLE_N" "${CHAT[@]}" || true
fi

# value of key for scenario sc in one results file ("nan" for a failed run)
value() {
  local v
  v=$(grep " scenario=$2 " "$1" 2>/dev/null | grep -v ' error=' | tail -1 | grep -o " $3=[^ ]*" | cut -d= -f2)
  echo "${v:-nan}"
}
median() { # of the numbers on stdin, nan ignored
  grep -v nan | sort -g | awk '{v[NR]=$1} END{ if (NR==0) {print "nan"; exit}
    print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2 }'
}
# per round: chat's value over Bun's
ratios() {
  for r in $(seq "$ROUNDS"); do
    awk -v b="$(value "$OUT/bun-$r/results.txt" "$1" "$2")" -v c="$(value "$OUT/chat-$r/results.txt" "$1" "$2")" \
      'BEGIN{ if (b+0 > 0 && c != "nan") printf "%.3f\n", c/b; else print "nan" }'
  done
}
column() { for r in $(seq "$ROUNDS"); do value "$OUT/$1-$r/results.txt" "$2" "$3"; done; }
{
  echo "# chat vs Bun seed, $(date -u +%Y-%m-%d), $(nproc) cores, PIN=$PIN, $ROUNDS rounds"
  echo
  echo "Medians over the rounds; a ratio is chat over Bun within one round, and the"
  echo "ratio column is the median of those (below 1: chat lower)."
  echo
  echo "| scenario | deliveries/s bun | chat | ratio | p99 ms bun | chat | ratio | server µs/delivery bun | chat | ratio | lost+dup+reorder chat |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for sc in $SCENARIOS; do
    errs=$(cat "$OUT"/chat-*/results.txt | grep " scenario=$sc " |
      awk '{for(i=1;i<=NF;i++){split($i,kv,"="); if(kv[1]=="lost"||kv[1]=="dup"||kv[1]=="reorder") s+=kv[2]}} END{print s+0}')
    row="| $sc"
    for key in delivered_per_s p99_ms srv_us_per_del; do
      row="$row | $(column bun "$sc" $key | median) | $(column chat "$sc" $key | median) | $(ratios "$sc" $key | median)"
    done
    echo "$row | $errs |"
  done
  echo
  echo "Per round (chat/Bun): "
  for sc in $SCENARIOS; do
    echo "- $sc: deliveries/s $(ratios "$sc" delivered_per_s | tr '\n' ' ')· p99 $(ratios "$sc" p99_ms | tr '\n' ' ')· µs/delivery $(ratios "$sc" srv_us_per_del | tr '\n' ' ')"
  done
  for who in bun chat; do
    f=$OUT/idle-$who/wsload.txt
    [ -f "$f" ] && echo && echo "idle $who: $(grep '^RESULT' "$f" | tail -1)"
  done
} | tee "$OUT/compare.md"
echo "all output in $OUT"
