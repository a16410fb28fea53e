#!/usr/bin/env python3
"""Builds Datasets/<style>.csv (header question,answer; RFC 4180 quoting) from Datasets/source/qa.jsonl.

Each line of qa.jsonl holds one question and its answer in every style. Every CSV lists the questions in
the same order, so row i of anger.csv is the angry version of row i of neutral.csv.
Run: python3 scripts/build_datasets.py   (rewrites the CSVs; they are committed)
"""
import csv, json, os, sys

STYLES = ["neutral", "anger", "sadness", "joy", "fear"]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Datasets")
rows = [json.loads(l) for l in open(os.path.join(root, "source", "qa.jsonl"), encoding="utf-8") if l.strip()]
for style in STYLES:
    path = os.path.join(root, style + ".csv")
    with open(path + ".tmp", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        w.writerow(["question", "answer"])
        for r in rows:
            w.writerow([r["question"], r[style]])
    os.replace(path + ".tmp", path)
print(f"{len(rows)} questions × {len(STYLES)} styles written to {root}", file=sys.stderr)
