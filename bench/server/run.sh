#!/usr/bin/env bash
# Server benchmark (issue: 5,000 authenticated requests per second with p99 under 20 ms for a simple
# read, idle RSS under 50 MB). Starts the release `pactum serve --demo` on loopback, creates an API
# token, drives `GET /api/v1/me` (token lookup in the store, JSON answer) with wrk from Debian, and
# prints the figures beside the targets.
# Usage: bench/server/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
connections="${2:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -p pactum --quiet
bin="${CARGO_TARGET_DIR:-target}/release/pactum"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" serve --demo --listen 127.0.0.1:0 --data "$work/data" >"$work/out" 2>"$work/err" &
server=$!
for _ in $(seq 1 100); do grep -q 'http://' "$work/out" 2>/dev/null && break; sleep 0.1; done
base="$(grep -o 'http://[0-9.:]*' "$work/out" | head -n 1)"
[ -n "$base" ] || { cat "$work/err"; exit 1; }
sleep 1
idle_kb="$(ps -o rss= -p "$server" | tr -d ' ')"
token="$("$bin" admin token create --name bench --role analyst --data "$work/data" 2>/dev/null | head -n 1)"
# Warm up, then measure.
wrk -t1 -c"$connections" -d2s -H "Authorization: Bearer $token" "$base/api/v1/me" >/dev/null
wrk -t1 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$base/api/v1/me" >"$work/wrk"
busy_kb="$(ps -o rss= -p "$server" | tr -d ' ')"
cat "$work/wrk"
rps="$(awk '/^Requests\/sec/ {print $2}' "$work/wrk")"
p99="$(awk '$1 == "99%" {print $2}' "$work/wrk")"
non2xx="$(awk '/Non-2xx/ {print $5}' "$work/wrk")"
echo
echo "| measure | pactum | target |"
echo "|---|---|---|"
echo "| authenticated reads per second (GET /api/v1/me, $connections connections) | $rps | 5,000 |"
echo "| p99 latency | $p99 | 20 ms |"
echo "| non-2xx responses | ${non2xx:-0} | 0 |"
echo "| idle RSS | $((idle_kb / 1024)) MB | 50 MB |"
echo "| RSS after the run | $((busy_kb / 1024)) MB | |"
