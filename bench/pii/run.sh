#!/usr/bin/env bash
# Benchmark `pactum scan` on the shared PII corpus with the shared scorer, and
# print the result side by side with the anchors (datafog-core, Presidio).
#
#   bench/pii/run.sh                  # the anchors' corpus (seed 20251122), 3 runs
#   SEED=7 bench/pii/run.sh           # another seed (anchors exist for the default seed only)
#
# Environment (all optional):
#   SHARED  the shared benchmark folder   (default: <repo>/../shared/bench/pii)
#   WORK    scratch folder for venv, corpus and results (default: /tmp/pactum-pii)
#   RUNS    timed runs per workload (default 3); CORE  CPU to pin to (default 1)
#   SEED    corpus seed (default 20251122, the one the anchors were measured on)
# Needs python3 (venv + pip reach PyPI once for Faker), cargo and taskset.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench/pii}"
WORK="${WORK:-/tmp/pactum-pii}"
RUNS="${RUNS:-3}"
CORE="${CORE:-1}"
SEED="${SEED:-20251122}"
DATA="$WORK/data-$SEED"
OUT="$WORK/results-$SEED"
mkdir -p "$WORK" "$OUT"

# 1. The generator's virtualenv (only Faker, pinned by the shared requirements).
VENV="$WORK/venv-gen"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import faker' 2>/dev/null; then
  echo "== creating $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$SHARED/requirements/gen.txt"
fi

# 2. The corpus, written to scratch (the shared folder is read-only).
if [ ! -s "$DATA/customers.notes.decoys.jsonl" ]; then
  echo "== generating the corpus (seed $SEED) into $DATA" >&2
  CHECK=()
  [ "$SEED" = 20251122 ] && CHECK=(--check)
  # gen_pinned.py pins Faker's "today" so birth dates (and corpus.sha256) reproduce.
  "$VENV/bin/python" "$HERE/gen_pinned.py" "$SHARED/gen_corpus.py" --out "$DATA" --seed "$SEED" "${CHECK[@]}" >/dev/null
fi

# 3. The binary: `pactum scan` when the CLI crate has it, else the scanner
#    crate's stand-alone example (same arguments, same code path).
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if grep -qs 'mod scan;' crates/pactum/src/cmd/mod.rs && cargo build -q --release -p pactum 2>/dev/null \
    && "$TARGET/release/pactum" scan --help >/dev/null 2>&1; then
  SCAN=("$TARGET/release/pactum" scan)
else
  cargo build -q --release -p pactum-scan --example scan
  SCAN=("$TARGET/release/examples/scan")
fi
echo "== scanner: ${SCAN[*]}" >&2

# 4. Speed, measured as the anchors were: load, warm up on 200 documents, time
#    only the scan loop, one process per run pinned to one core (bench_pii).
cargo build -q --release -p pactum-scan --example bench_pii
for w in tickets tickets-blob customers; do
  for r in $(seq "$RUNS"); do
    taskset -c "$CORE" "$TARGET/release/examples/bench_pii" "$w" "$DATA" 2>/dev/null
  done
done >"$OUT/bench.jsonl"

# 5. Accuracy and end-to-end time through the CLI: `scan --format jsonl`,
#    pinned to one core with one thread, then once with two threads.
now() { date +%s.%N; }
: >"$OUT/cli.jsonl"
for corpus in tickets customers; do
  case $corpus in tickets) file="$DATA/tickets.txt" ;; customers) file="$DATA/customers.csv" ;; esac
  for r in $(seq "$RUNS"); do
    t0=$(now)
    taskset -c "$CORE" "${SCAN[@]}" --threads 1 --stats --format jsonl "$file" >"$OUT/scan.$corpus.jsonl" 2>"$OUT/stats.$corpus.json"
    t1=$(now)
    echo "{\"corpus\": \"$corpus\", \"threads\": 1, \"wall_s\": $(python3 -c "print($t1 - $t0)"), \"stats\": $(tail -1 "$OUT/stats.$corpus.json")}" >>"$OUT/cli.jsonl"
  done
  t0=$(now)
  "${SCAN[@]}" --threads 2 --stats --format jsonl "$file" 2>"$OUT/stats2.$corpus.json" >/dev/null
  t1=$(now)
  echo "{\"corpus\": \"$corpus\", \"threads\": 2, \"wall_s\": $(python3 -c "print($t1 - $t0)"), \"stats\": $(tail -1 "$OUT/stats2.$corpus.json")}" >>"$OUT/cli.jsonl"
  python3 "$HERE/to_pred.py" --corpus "$corpus" --data "$DATA" --scan "$OUT/scan.$corpus.jsonl" \
    --out "$OUT/pred.$corpus.jsonl"
  python3 "$SHARED/score.py" --corpus "$corpus" --data "$DATA" --pred "$OUT/pred.$corpus.jsonl" \
    --out "$OUT/score.$corpus.json"
done

# 6. Side by side with the anchors.
[ "$SEED" = 20251122 ] || echo "(seed $SEED: anchor figures below are from seed 20251122)"
python3 "$HERE/compare.py" --results "$OUT" --summary "$SHARED/results/summary.json" | tee "$OUT/compare.md"
