#!/usr/bin/env bash
# Times the web pages of `duban serve --demo` (the release build: `cargo build --release`)
# with curl, signed in as an administrator and a finance officer: median and max of N
# requests each (N=30 by default). Usage: bash tests/bench/pages.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/duban}
DIR=$(mktemp -d)
export DUBAN_CONFIG_DIR=$ROOT/config
export DUBAN__DATABASE__URL="sqlite://$DIR/demo.db?mode=rwc"
export DUBAN__HTTP__BIND=127.0.0.1:18080
export DUBAN__NOTIFY__EMAIL__EML_DIR=$DIR/outbox DUBAN__NOTIFY__SMS__LOG_FILE=$DIR/sms.log
export DUBAN__LOG__FILTER=warn
cd "$ROOT"
"$BIN" migrate up >/dev/null
printf 'Bench.Mark2026\n' | "$BIN" users add guanli --role administrator --password-stdin >/dev/null
printf 'Bench.Mark2026\n' | "$BIN" users add caiwu --role finance_officer --password-stdin >/dev/null
"$BIN" serve --demo >"$DIR/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.3; done
login() {
  curl -s -c "$DIR/$1.jar" -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Origin: http://127.0.0.1:18080' \
    --data-urlencode "username=$1" --data-urlencode 'password=Bench.Mark2026' http://127.0.0.1:18080/login
}
login guanli; login caiwu
N=${N:-30}
time_page() {
  local who=$1 path=$2
  curl -s -b "$DIR/$who.jar" -o /dev/null "http://127.0.0.1:18080$path" # warm
  for _ in $(seq "$N"); do
    curl -s -b "$DIR/$who.jar" -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:18080$path"
  done | awk -v p="$path" '{ if ($1 != 200) bad++; t[NR]=$2*1000 } END {
      n=asort(t); printf "%-40s median %6.1f ms  max %6.1f ms  (%d runs%s)\n", p, t[int((n+1)/2)], t[n], n, (bad? ", " bad " not 200" : "") }'
}
for p in / /units "/units?district=%E5%8E%86%E4%B8%8B%E5%8C%BA&sort=term_end" /units/370102-0001 /chains "/chains?overdue=1" /items /interviews /deliveries /deliveries/dead /workflows /calendar /users; do
  time_page guanli "$p"
done
for p in /budget /allocations /units/370102-0001/funds; do time_page caiwu "$p"; done
echo "units: $(curl -s -b "$DIR/guanli.jar" http://127.0.0.1:18080/units | grep -o '共[0-9]*' | head -1)"
