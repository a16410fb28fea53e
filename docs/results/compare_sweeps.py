#!/usr/bin/env python3
"""Per-index profiles across sweeps (standard library only): for every finished run of the given sweep folders,
|column mean| over the layers of its heatmap.csv (the profile `irm sweep-report` correlates within one sweep),
then the Pearson correlation and the shared top-10 indices of chosen pairs, and the top indices of each run.

    python3 docs/results/compare_sweeps.py Runs/sweeps/paper Runs/sweeps/reference
"""
import csv, json, os, sys


def profile(run):
    with open(os.path.join(run, "heatmap.csv")) as f:
        rows = [list(map(float, r[1:])) for r in list(csv.reader(f))[1:]]
    return [abs(sum(col) / len(col)) for col in zip(*rows)]


def pearson(a, b):
    n = len(a); ma = sum(a) / n; mb = sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a); sbb = sum((y - mb) ** 2 for y in b)
    return sab / (saa * sbb) ** 0.5 if saa > 0 and sbb > 0 else 0.0


def top(p, k=10):
    return sorted(range(len(p)), key=lambda i: -p[i])[:k]


profiles = {}
for sweep in sys.argv[1:]:
    name = os.path.basename(os.path.normpath(sweep))
    summary = json.load(open(os.path.join(sweep, "summary.json")))
    for r in summary["runs"]:
        path = os.path.join(sweep, r["name"])
        if r["finished"] and os.path.exists(os.path.join(path, "heatmap.csv")):
            profiles[f"{name}/{r['name']}"] = profile(path)

print("run | top-5 indices by |column mean| | share of the top index")
for k, p in profiles.items():
    print(f"{k} | {top(p, 5)} | {100 * max(p) / sum(p):.2f} %")
print()
keys = list(profiles)
print("pair | correlation | shared top-10")
for i, a in enumerate(keys):
    for b in keys[i + 1:]:
        shared = sorted(set(top(profiles[a])) & set(top(profiles[b])))
        print(f"{a} vs {b} | {pearson(profiles[a], profiles[b]):.2f} | {shared}")
