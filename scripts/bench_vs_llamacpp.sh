#!/usr/bin/env bash
# make bench-llamacpp: irm's forward group and llama.cpp's llama-bench side by side on this machine, on SmolLM2 in
# F32, F16 and Q4_1, interleaved round by round (best of ROUNDS), and irm's decode on 1 vs N threads. Prints a
# Markdown table (date, commit, CPU, load) for README.md's performance section. Not part of `make test`.
#
# llama.cpp is built from its public source in $WORK (default /tmp/irm-llamacpp; none of it enters the repo): the
# llama-cpp-python sdist from PyPI carries it (vendor/llama.cpp); CMake comes from PyPI when missing. Its F16 and
# F32 GGUFs are made from Models/'s Q4_1 file with llama-quantize --allow-requantize. irm reads the Q4_1 file with
# --dtype f32 / f16 (the same values, widened at load) and auto (what the loader does with Q4_1), the last both
# exact and with --int8-dot (8-bit activations in the decode products, as llama.cpp computes Q4_1).
# When `make check-7b` has left its Q4_K_M GGUF (random weights at Llama-2-7b-chat's shape, SEVEN_B), it is measured
# too: llama-bench -p 128 -n 16 against `irm generate --stats` (16 tokens; its 128-token prefill), exact and with
# --int8-dot.
# Settings: ROUNDS (default 3), THREADS (default 2), WORK, LLAMA_BENCH (a llama-bench binary to use instead), SEVEN_B.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/irm-llamacpp}
MODEL=Models/SmolLM2-135M-Instruct.Q4_1.gguf
SEVEN_B=${SEVEN_B:-/tmp/irm-check-7b/llama-2-7b-chat.Q4_K_M.gguf}
[ -f "$MODEL" ] || { echo "bench-llamacpp: $MODEL missing (make model)" >&2; exit 1; }
mkdir -p "$WORK"

# llama.cpp: llama-bench and llama-quantize, Release, for this CPU (GGML_NATIVE), CPU backend only.
if [ -z "${LLAMA_BENCH:-}" ]; then
    src=$(ls -d "$WORK"/llama_cpp_python-*/vendor/llama.cpp 2>/dev/null | head -1 || true)
    if [ -z "$src" ]; then
        echo "bench-llamacpp: fetching llama.cpp's source (llama-cpp-python sdist) into $WORK" >&2
        (cd "$WORK" && python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python llama-cpp-python \
            && tar xzf llama_cpp_python-*.tar.gz)
        src=$(ls -d "$WORK"/llama_cpp_python-*/vendor/llama.cpp | head -1)
    fi
    if [ ! -x "$src/build/bin/llama-bench" ] || [ ! -x "$src/build/bin/llama-quantize" ]; then
        command -v cmake >/dev/null || python3 -m pip install --quiet cmake
        echo "bench-llamacpp: building llama.cpp in $src/build (several minutes on 2 cores)" >&2
        cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
            -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
        cmake --build "$src/build" -j2 --target llama-bench llama-quantize >/dev/null
    fi
    LLAMA_BENCH=$src/build/bin/llama-bench
fi
QUANTIZE=$(dirname "$LLAMA_BENCH")/llama-quantize
for t in F16 F32; do
    out="$WORK/smollm2-$t.gguf"
    if [ ! -f "$out" ]; then
        "$QUANTIZE" --allow-requantize "$MODEL" "$out.part" "$t" >/dev/null 2>&1 ||
            { rm -f "$out.part"; echo "bench-llamacpp: llama-quantize could not write $out" >&2; exit 1; }
        mv "$out.part" "$out"
    fi
done

swift build -c release --product irm-bench >/dev/null
swift build -c release --product irm >/dev/null
BENCH=.build/release/irm-bench
# irm generate's --stats line as two JSON lines: {"name": "7b_prefill_128" | "7b_decode", "value": tok/s}.
generate_stats() {
    .build/release/irm generate --model "$SEVEN_B" --prompt "Why is the sky blue?" --max-tokens 16 --threads "$THREADS" \
        --stats "$@" 2>&1 >/dev/null | tail -1 |
        sed -n 's/.*generated [0-9]* tokens, \([0-9.]*\) tok\/s; prefill of 128 tokens, \([0-9.]*\) tok\/s.*/{"name": "7b_decode", "value": \1}\n{"name": "7b_prefill_128", "value": \2}/p'
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
results="$WORK/results.jsonl"
: >"$results"
for r in $(seq "$ROUNDS"); do
    for pair in "F32 f32" "F16 f16" "Q4_1 auto"; do
        set -- $pair
        file="$WORK/smollm2-$1.gguf"; [ "$1" = Q4_1 ] && file=$MODEL
        "$LLAMA_BENCH" -m "$file" -t "$THREADS" -p 128 -n 64 -r 1 -o jsonl 2>/dev/null |
            sed "s/^{/{\"side\": \"llama.cpp\", \"file\": \"$1\", /" >>"$results"
        "$BENCH" forward --model smollm2 --dtype "$2" --threads "$THREADS" |
            sed "s/^{/{\"side\": \"irm\", \"file\": \"$1\", /" >>"$results"
    done
    # irm's decode as llama.cpp computes it (8-bit activations, integer dot products), against the same Q4_1 row.
    "$BENCH" forward --model smollm2 --dtype int8 --threads "$THREADS" |
        sed "s/^{/{\"side\": \"irm\", \"file\": \"Q4_1 int8\", /" >>"$results"
    if [ -f "$SEVEN_B" ]; then
        "$LLAMA_BENCH" -m "$SEVEN_B" -t "$THREADS" -p 128 -n 16 -r 1 -o jsonl 2>/dev/null |
            sed 's/^{/{"side": "llama.cpp", "file": "7B Q4_K_M", /' >>"$results"
        generate_stats | sed 's/^{/{"side": "irm", "file": "7B Q4_K_M", /' >>"$results"
        generate_stats --int8-dot | sed 's/^{/{"side": "irm", "file": "7B Q4_K_M int8", /' >>"$results"
    fi
    echo "bench-llamacpp: round $r of $ROUNDS done" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$results" "$THREADS" "$ROUNDS" "$load0" "$load1" "$(git rev-parse --short HEAD)" \
    "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$("$LLAMA_BENCH" --version 2>&1 | head -1 | sed "s/^version: //")" \
    "$(basename "$SEVEN_B")" <<'EOF'
import json, sys, datetime
path, threads, rounds, load0, load1, commit, cpu, lversion, big = sys.argv[1:10]
best, stored = {}, {}
def keep(key, v):
    best[key] = max(best.get(key, 0), v)
for line in open(path):
    r = json.loads(line)
    w = r["file"]
    if r["side"] == "irm" and "weights" in r: stored[w] = r["weights"]
    if r["side"] == "llama.cpp":
        kind = "prefill" if r["n_prompt"] > 0 else "decode"
        keep(("llama.cpp", w, kind), r["avg_ts"])
    elif r.get("name", "").startswith("smollm2_prefill_128_") or r.get("name", "") == "7b_prefill_128":
        keep(("irm", w, "prefill"), r["value"])
    elif r.get("name", "").startswith("smollm2_decode_"):
        keep(("irm", w, "decode"), r["value"])
        keep(("irm", w, "decode1"), r["one_thread"])
    elif r.get("name", "") == "7b_decode":
        keep(("irm", w, "decode"), r["value"])
print(f"{datetime.date.today()} · irm {commit} · llama.cpp {lversion} · {cpu}, {threads} threads · "
      f"best of {rounds} interleaved rounds · load average {load0} before, {load1} after")
print()
print("| weights | prefill 128 (tok/s) llama.cpp / irm | decode 64 (tok/s) llama.cpp / irm | irm decode 1 → %s threads |" % threads)
print("|---|---|---|---|")
rows = ["F32", "F16", "Q4_1", "Q4_1 int8"] + (["7B Q4_K_M", "7B Q4_K_M int8"] if ("llama.cpp", "7B Q4_K_M", "decode") in best else [])
for w in rows:
    base = w[:-len(" int8")] if w.endswith(" int8") else w      # llama.cpp's row for irm's --int8-dot one
    g = lambda s, k: best.get((s, base if s == "llama.cpp" else w, k), 0)
    lp, ip, ld, idc, i1 = g("llama.cpp", "prefill"), g("irm", "prefill"), g("llama.cpp", "decode"), g("irm", "decode"), g("irm", "decode1")
    ratio = lambda a, b: f"{a / b:.2f}×" if b > 0 else "–"
    if w.startswith("7B"):
        label = f"{big} (random weights), irm " + ("--int8-dot" if w.endswith("int8") else "exact")
        print(f"| {label} | {lp:.1f} / {ip:.1f} ({ratio(ip, lp)}) | {ld:.2f} / {idc:.2f} ({ratio(idc, ld)}) | – |")
        continue
    label = ("Q4_1, irm --int8-dot" if w == "Q4_1 int8"
             else w if stored.get(w, "").upper() == w else f"{w} (irm computes on {stored.get(w, '?')})")
    print(f"| {label} | {lp:.0f} / {ip:.0f} ({ratio(ip, lp)}) | {ld:.0f} / {idc:.0f} ({ratio(idc, ld)}) | "
          f"{i1:.0f} → {idc:.0f} ({ratio(idc, i1)}) |")
EOF
