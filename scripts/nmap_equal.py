#!/usr/bin/env python3
"""Compares two irm neuron maps (.nmap, Sources/Analysis/NeuronMapFile.swift), read here independently of irm:
the same neurons, the same top and bottom token ids in order and, for version-2 files, the same logits bit for bit.
Prints the largest relative difference of the probabilities. Exit status 0 when equal, 1 when not.
Usage: scripts/nmap_equal.py A.nmap B.nmap   (make check-8b runs it on a screened and an --exact map)"""
import struct
import sys


def read(path):
    b = open(path, "rb").read()
    if b[:8] != b"IRMNMAP\0":
        sys.exit(f"{path}: not an irm neuron map")
    u = lambda off: struct.unpack_from("<I", b, off)[0]
    version, kind, norm, k, kb, dim, hidden, layers, vocab, nl, name_len, nt = (u(8 + 4 * i) for i in range(12))
    if version not in (1, 2):
        sys.exit(f"{path}: version {version}")
    off = 56
    layer_ids = [u(off + 4 * i) for i in range(nl)]
    off += 4 * nl + name_len
    lens = [u(off + 4 * i) for i in range(nt)]
    off += 4 * nt + sum(lens)
    off = (off + 3) & ~3
    n = nl * hidden

    def arr(fmt, count):
        nonlocal off
        a = struct.unpack_from(f"<{count}{fmt}", b, off)
        off += 4 * count
        return a

    m = {"header": (kind, norm, k, kb, dim, hidden, layers, vocab, tuple(layer_ids))}
    m["top_ids"], m["top_p"] = arr("i", n * k), arr("f", n * k)
    m["bottom_ids"], m["bottom_p"] = arr("i", n * kb), arr("f", n * kb)
    if version == 2:
        m["top_logits"], m["bottom_logits"] = arr("I", n * k), arr("I", n * kb)  # bit patterns
    if off != len(b):
        sys.exit(f"{path}: {len(b) - off} bytes left over")
    return m


a, b = read(sys.argv[1]), read(sys.argv[2])
ok = True
for key in ["header", "top_ids", "bottom_ids", "top_logits", "bottom_logits"]:
    if key in a and key in b:
        same = a[key] == b[key]
        diff = "" if same or key == "header" else f" ({sum(x != y for x, y in zip(a[key], b[key]))} differ)"
        print(f"{key}: {'equal' if same else 'DIFFERENT'}{diff}")
        ok &= same
worst = max((abs(x - y) / x for x, y in zip(a["top_p"] + a["bottom_p"], b["top_p"] + b["bottom_p"]) if x > 0), default=0)
print(f"probabilities: largest relative difference {worst:.3g}")
sys.exit(0 if ok else 1)
