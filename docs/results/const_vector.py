# python3 docs/results/const_vector.py RUN [OTHER_RUN]: what a constant-vector IRM (irm train --irm-kind constant) holds.
# Composition of a constant-vector IRM (irm-best.safetensors, tensor "constant" [L*h], slot j of index i at i*L + j):
# per index the sum over layers; group means of |sum| and median ranks (groups from the knob scans' JSON).
import json, struct, array, sys, statistics
def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); base = 8 + n
    s, e = h['constant']['data_offsets']; a = array.array('f'); a.frombytes(b[base + s:base + e]); return a
run, L, H = sys.argv[1], 30, 576
v = load(f'{run}/irm-best.safetensors')
sums = [sum(v[i * L + j] for j in range(L)) for i in range(H)]
order = sorted(range(H), key=lambda i: -abs(sums[i])); rank = {i: r + 1 for r, i in enumerate(order)}
groups = json.load(open('docs/results/knobs/knobs-reference.json'))['groups']
print('top 8 (index, sum over layers):', [(i, round(sums[i], 2)) for i in order[:8]])
for g in groups:
    idx = g['indices']
    print(f"{g['name']:9s} mean |sum| {statistics.mean(abs(sums[i]) for i in idx):.2f}  median rank {statistics.median(rank[i] for i in idx):.0f}")
print(f"all       mean |sum| {statistics.mean(abs(s) for s in sums):.2f}")
for i in (507, 17, 247, 521): print(f'index {i}: sum {sums[i]:.2f}, rank {rank[i]}')
other = sys.argv[2] if len(sys.argv) > 2 else None
if other:
    w = load(f'{other}/irm-best.safetensors')
    ws = [sum(w[i * L + j] for j in range(L)) for i in range(H)]
    agree = sum(1 for i in range(H) if (ws[i] > 0) == (sums[i] > 0))
    num = sum(a * b for a, b in zip(sums, ws)); den = (sum(a * a for a in sums) * sum(b * b for b in ws)) ** 0.5
    print(f'vs {other}: sign agreement {agree}/{H}, cosine of the per-index sums {num / den:.3f}')
