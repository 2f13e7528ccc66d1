#!/usr/bin/env python3
"""Convert `pactum scan --format jsonl` output to the shared scorer's format.

  python3 to_pred.py --corpus tickets --data DATA --scan scan.jsonl --out pred.jsonl

pactum reports 1-based lines (CSV: 1-based data rows plus a "column" key) and
UTF-8 byte offsets within the line or cell; score.py wants 0-based lines/rows,
the column name as "col" and code-point offsets. Types the scorer does not
know (UK_NINO) become OTHER:<type>, which it counts apart.
Standard library only.
"""
import argparse
import csv
import json
import os
import sys

CANON = {"PERSON", "EMAIL", "PHONE", "IP_ADDRESS", "CREDIT_CARD", "IBAN", "US_SSN",
         "DATE_OF_BIRTH", "ADDRESS", "SECRET"}


def cp(text_bytes, b):
    return len(text_bytes[:b].decode("utf-8", errors="replace"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True, choices=["tickets", "customers"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--scan", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--anchor", default="pactum")
    a = ap.parse_args()
    if a.corpus == "tickets":
        with open(os.path.join(a.data, "tickets.txt"), "rb") as fh:
            docs = fh.read().split(b"\n")
        if docs and docs[-1] == b"":
            docs.pop()
        n = len(docs)
    else:
        with open(os.path.join(a.data, "customers.csv"), encoding="utf-8", newline="") as fh:
            rd = csv.reader(fh)
            header = next(rd)
            cells = [dict(zip(header, (v.encode("utf-8") for v in row))) for row in rd]
        n = len(cells)
    kept = 0
    with open(a.scan, encoding="utf-8") as fin, open(a.out, "w", encoding="utf-8") as fout:
        fout.write(json.dumps({"meta": {"anchor": a.anchor, "n_rows": n}}) + "\n")
        for line in fin:
            if not line.strip():
                continue
            r = json.loads(line)
            t = r["type"] if r["type"] in CANON else "OTHER:" + r["type"]
            if a.corpus == "tickets":
                i = r["line"] - 1
                text = docs[i]
                rec = {"line": i}
            else:
                i = r["line"] - 1
                text = cells[i].get(r["column"], b"")
                rec = {"row": i, "col": r["column"]}
            rec.update(start=cp(text, r["start"]), end=cp(text, r["end"]), type=t, raw=r["type"],
                       score=r["score"])
            fout.write(json.dumps(rec) + "\n")
            kept += 1
    print(f"{a.corpus}: {kept} findings converted", file=sys.stderr)


if __name__ == "__main__":
    main()
