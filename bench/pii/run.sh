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
#   NAMES   Faker locales for every person name, comma-separated (e.g. pl_PL,tr_TR,nl_NL):
#           the same corpus with names the recogniser was not written against
#   NATIVE  1 (default) builds datafog-core-native from the shared folder and times it in
#           the same session, each of its runs right after one of ours, on the same core
# Needs python3 (venv + pip reach PyPI once for Faker), cargo and taskset.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench/pii}"
WORK="${WORK:-/tmp/pactum-pii}"
RUNS="${RUNS:-3}"
CORE="${CORE:-1}"
SEED="${SEED:-20251122}"
NAMES="${NAMES:-}"
NATIVE="${NATIVE:-1}"
TAG="$SEED${NAMES:+-names-${NAMES//,/-}}"
DATA="$WORK/data-$TAG"
OUT="$WORK/results-$TAG"
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
  [ "$SEED" = 20251122 ] && [ -z "$NAMES" ] && CHECK=(--check)
  # gen_pinned.py pins Faker's "today" so birth dates (and corpus.sha256) reproduce,
  # and draws person names from $NAMES when it is set.
  PII_NAME_LOCALES="$NAMES" "$VENV/bin/python" "$HERE/gen_pinned.py" "$SHARED/gen_corpus.py" \
    --out "$DATA" --seed "$SEED" "${CHECK[@]}" >/dev/null
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
#    The fastest anchor, datafog-core-native, is built from the shared folder's
#    source (into scratch) and run right after each of our runs on the same core,
#    so the ratio holds even when this shared machine's speed drifts.
cargo build -q --release -p pactum-scan --example bench_pii
NATIVE_BIN=""
if [ "$NATIVE" = 1 ]; then
  rm -rf "$WORK/native-src" && cp -r "$SHARED/native/datafog-core" "$WORK/native-src" && chmod -R u+w "$WORK/native-src"
  if CARGO_TARGET_DIR="$WORK/native-target" cargo build -q --release --locked \
      --manifest-path "$WORK/native-src/Cargo.toml"; then
    NATIVE_BIN="$WORK/native-target/release/df-native-bench"
  else
    echo "== datafog-core-native did not build: ratios use the anchors' recorded figures" >&2
  fi
fi
: >"$OUT/native.jsonl"
for w in tickets tickets-blob customers; do
  for r in $(seq "$RUNS"); do
    taskset -c "$CORE" "$TARGET/release/examples/bench_pii" "$w" "$DATA" 2>/dev/null
    if [ -n "$NATIVE_BIN" ]; then
      taskset -c "$CORE" "$NATIVE_BIN" "$DATA" "$w" "$OUT/native.run.json" "" "$r" >/dev/null
      python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$OUT/native.run.json" >>"$OUT/native.jsonl"
    fi
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
[ "$SEED" = 20251122 ] && [ -z "$NAMES" ] || echo "(corpus $TAG: the anchors' accuracy figures below are from seed 20251122 with the generator's own names)"
python3 "$HERE/compare.py" --results "$OUT" --summary "$SHARED/results/summary.json" | tee "$OUT/compare.md"
