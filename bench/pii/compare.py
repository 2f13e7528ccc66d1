#!/usr/bin/env python3
"""Print pactum's benchmark results side by side with the shared anchors.

  python3 compare.py --results DIR --summary .../results/summary.json

DIR holds what run.sh wrote: score.tickets.json / score.customers.json (from
the shared score.py), bench.jsonl (scan-loop timings from the bench_pii
example, one line per run), native.jsonl (datafog-core-native timed in the
same session, each run right after one of ours; may be empty) and cli.jsonl
(whole-process timings of the CLI).
Standard library only.
"""
import argparse
import json
import os
import statistics

TYPES = ["PERSON", "EMAIL", "PHONE", "IP_ADDRESS", "CREDIT_CARD", "IBAN", "US_SSN",
         "DATE_OF_BIRTH", "ADDRESS", "SECRET"]
PRESIDIO = ["presidio-spacy", "presidio-slim", "presidio-noop"]
FAST = "datafog-core-native"


def fmt(x, nd=2):
    return "–" if x is None else f"{x:.{nd}f}"


def median_mbps(perf, key):
    r = perf.get(key)
    return statistics.median(r["mb_per_s"]) if r else None


def best_presidio(acc, corpus, typ):
    """Presidio's best configuration for a type: highest F1 over configs and thresholds."""
    best = None
    for k, v in acc.items():
        anchor, c, thr = k.split("|")
        if c != corpus or anchor not in PRESIDIO:
            continue
        m = v.get(typ)
        if not m or m.get("precision") is None or not m.get("recall"):
            continue
        f1 = m.get("f1") or 0.0
        if best is None or f1 > best[0]:
            best = (f1, m["precision"], m["recall"], f"{anchor}@{thr}")
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--summary", required=True)
    a = ap.parse_args()
    summary = json.load(open(a.summary))
    perf, acc = summary["performance"], summary["accuracy"]

    bench = [json.loads(l) for l in open(os.path.join(a.results, "bench.jsonl")) if l.strip()]
    cli = [json.loads(l) for l in open(os.path.join(a.results, "cli.jsonl")) if l.strip()]
    native_path = os.path.join(a.results, "native.jsonl")
    native = [json.loads(l) for l in open(native_path) if l.strip()] if os.path.exists(native_path) else []
    print("## Speed, one core (scan loop only, as the anchors were timed; MB = 10^6 bytes handed to the scanner)\n")
    print("First pass = the anchors' method (warm up on 200 documents, time one pass); steady = a second pass,")
    print("after the lazy DFA has built its states (a one-time cost of a few tens of milliseconds).")
    if native:
        print(f"{FAST} was timed in this session: each of its runs right after one of ours, on the same core;")
        print("the ratio is the median of the run-by-run ratios, which holds when the machine's speed drifts.\n")
    else:
        print(f"{FAST}'s figures are the anchors' recorded ones (`results/summary.json`).\n")
    print(f"| workload | pactum first pass MB/s, median [min-max] | rows/s | pactum steady MB/s | {FAST} MB/s | "
          f"x {FAST} (first / steady) | presidio-spacy MB/s | x presidio-spacy | presidio-noop MB/s | x presidio-noop |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for w in ("tickets", "tickets-blob", "customers"):
        runs = [r for r in bench if r["workload"] == w]
        if not runs:
            continue
        mbs = [r["mb_per_s"] for r in runs]
        med = statistics.median(mbs)
        steady = statistics.median(r["steady_mb_per_s"] for r in runs)
        rows = statistics.median(r["rows_per_s"] for r in runs)
        same = [r for r in native if r["corpus"] == w]
        if same:
            df = statistics.median(r["mb_per_s"] for r in same)
            pairs = list(zip(runs, same))
            first_x = statistics.median(p["mb_per_s"] / n["mb_per_s"] for p, n in pairs)
            steady_x = statistics.median(p["steady_mb_per_s"] / n["mb_per_s"] for p, n in pairs)
            df_ratio = f"{first_x:.2f}x / {steady_x:.2f}x"
        else:
            df = median_mbps(perf, f"{FAST}|{w}")
            df_ratio = "–" if not df else f"{med / df:.2f}x / {steady / df:.2f}x"
        ps = median_mbps(perf, f"presidio-spacy|{w}")
        pn = median_mbps(perf, f"presidio-noop|{w}")
        ratio = lambda x: "–" if not x else (f"{med / x:,.0f}x" if med / x >= 10 else f"{med / x:.2f}x")  # noqa: E731
        print(f"| {w} | {med:.1f} [{min(mbs):.1f}-{max(mbs):.1f}] | {rows:,.0f} | {steady:.1f} | {fmt(df, 1)} | {df_ratio} | "
              f"{fmt(ps, 3)} | {ratio(ps)} | {fmt(pn, 3)} | {ratio(pn)} |")
    print("\n## End to end through the CLI (`scan --format jsonl FILE`, process start to exit)\n")
    print("| corpus | threads | wall s (median) | MB/s of input file | in-process read+scan+write s |")
    print("|---|---|---|---|---|")
    for corpus in ("tickets", "customers"):
        for th in (1, 2):
            runs = [r for r in cli if r["corpus"] == corpus and r["threads"] == th]
            if not runs:
                continue
            wall = statistics.median(r["wall_s"] for r in runs)
            inproc = statistics.median(r["stats"]["seconds"] for r in runs)
            mb = runs[0]["stats"]["bytes"] / 1e6
            print(f"| {corpus} | {th} | {wall:.3f} | {mb / wall:.1f} | {inproc:.3f} |")
    print()
    for corpus in ("tickets", "customers"):
        path = os.path.join(a.results, f"score.{corpus}.json")
        if not os.path.exists(path):
            continue
        s = json.load(open(path))
        ours = s["thresholds"]["all"]["per_type"]
        print(f"## Accuracy, {corpus} (all findings; precision / recall)\n")
        print(f"| type | pactum | exact F1 | chars covered | {FAST} | Presidio best config | vs Presidio |")
        print("|---|---|---|---|---|---|---|")
        for typ in TYPES:
            o = ours[typ]
            d = acc.get(f"{FAST}|{corpus}|all", {}).get(typ, {})
            b = best_presidio(acc, corpus, typ)
            if b is None:
                verdict = "ok (Presidio finds none)" if o["recall"] else "–"
                bp = "– / 0.00"
            else:
                ok = (o["precision"] or 0) >= b[1] - 1e-9 and (o["recall"] or 0) >= b[2] - 1e-9
                verdict = "ok" if ok else "BELOW"
                bp = f"{fmt(b[1])} / {fmt(b[2])} ({b[3]})"
            print(f"| {typ} | {fmt(o['precision'], 3)} / {fmt(o['recall'], 3)} | {fmt(o['exact_f1'], 3)} | "
                  f"{fmt(o['char_recall'])} | {fmt(d.get('precision'))} / {fmt(d.get('recall'))} | {bp} | {verdict} |")
        m = s["thresholds"]["all"]["micro"]
        print(f"| micro | {fmt(m['precision'], 4)} / {fmt(m['recall'], 4)} | | | | | |\n")
        dec = s["thresholds"]["all"]["decoys"]
        flagged = {k: sum(v["hit_by"].values()) / v["total"] for k, v in dec.items() if v["total"]}
        print("Look-alikes flagged: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(flagged.items())))
        other = s["thresholds"]["all"]["other_types_spurious"]
        if other:
            print("Other types (not scored): " + ", ".join(f"{k} {v}" for k, v in other.items()))
        cols = s.get("columns", {}).get("all")
        if cols:
            judged = [c for c in cols.values() if c["correct"] is not None]
            right = sum(1 for c in judged if c["correct"])
            wrong = [f"{k}={c['predicted']}" for k, c in cols.items() if c["correct"] is False]
            print(f"Column verdicts (scorer's rule): {right}/{len(judged)} right" + (f"; wrong: {', '.join(wrong)}" if wrong else ""))
        print()


if __name__ == "__main__":
    main()
