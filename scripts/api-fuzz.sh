#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with schemathesis (from PyPI): no 5xx, no
# response that violates the schema. Usage: scripts/api-fuzz.sh PATH/TO/pactum
set -euo pipefail
bin="${1:?usage: scripts/api-fuzz.sh PATH/TO/pactum}"
venv="${PACTUM_FUZZ_VENV:-$HOME/.cache/pactum-schemathesis}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" serve --demo --listen 127.0.0.1:0 --data "$work/data" >"$work/out" 2>"$work/err" &
server=$!
for _ in $(seq 1 100); do
  grep -q 'http://' "$work/out" 2>/dev/null && break
  sleep 0.1
done
base="$(grep -o 'http://[0-9.:]*' "$work/out" | head -n 1)"
[ -n "$base" ] || { echo "server did not start:"; cat "$work/err"; exit 1; }
# First as a stranger: every admin route must answer 401, never 5xx.
"$venv/bin/schemathesis" run "$base/api/v1/openapi.json" --checks all --max-examples 50 --seed 1 --generation-database none
# Then with an owner token, so the admin handlers themselves are fuzzed. Decoy tokens are created
# first so that a fuzzed DELETE of a small id is less likely to revoke the one in use.
for i in 1 2 3 4 5; do
  "$bin" admin token create --name "decoy-$i" --role auditor --data "$work/data" >/dev/null 2>&1
done
token="$("$bin" admin token create --name fuzz --role owner --data "$work/data" 2>/dev/null)"
"$venv/bin/schemathesis" run "$base/api/v1/openapi.json" --checks all --max-examples 50 --seed 1 --generation-database none \
  -H "Authorization: Bearer $token"
