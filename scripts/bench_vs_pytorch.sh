#!/usr/bin/env bash
# make bench-pytorch: irm's training step and forward (irm-bench train, SmolLM2 + the reference IRM, batch 8×128)
# against the same step written in PyTorch (scripts/bench_pytorch_step.py, CPU, the same shapes with random frozen
# weights), interleaved round by round (best of ROUNDS), on THREADS threads. Prints a Markdown table for
# README.md's performance section. Installs PyTorch's CPU wheel with pip when it is missing. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
MODEL=Models/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$MODEL" ] || { echo "bench-pytorch: $MODEL missing (make model)" >&2; exit 1; }
python3 -c "import torch" 2>/dev/null || {
    echo "bench-pytorch: installing PyTorch (CPU)" >&2
    # The CPU wheel: from a local wheel folder when there is one (/opt/wheels here), else PyTorch's CPU index.
    python3 -m pip install --quiet --find-links /opt/wheels torch ||
        python3 -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
}
swift build -c release --product irm-bench >/dev/null && swift build -c release --product irm >/dev/null
results=$(mktemp)
hogs=()
trap 'rm -f "$results"; [ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null' EXIT
path=$(.build/release/irm info --model "$MODEL" 2>/dev/null | sed -n 's/^kernels *//p')
[ -n "$path" ] || path="(irm info unavailable)"
if [ "${NICE_LOAD:-0}" = 1 ]; then
    for _ in $(seq "$(nproc)"); do nice -n 19 sh -c 'while :; do :; done' & hogs+=($!); done
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
    .build/release/irm-bench train --model smollm2 --threads "$THREADS" | sed 's/^{/{"side": "irm", /' >>"$results"
    python3 scripts/bench_pytorch_step.py --threads "$THREADS" | sed 's/^{/{"side": "pytorch", /' >>"$results"
    echo "bench-pytorch: round $r of $ROUNDS done" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$results" "$THREADS" "$ROUNDS" "$load0" "$load1" "$(git rev-parse --short HEAD)" \
    "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(python3 -c 'import torch; print(torch.__version__)')" \
    "$path" "${NICE_LOAD:-0}" <<'PY'
import json, sys, datetime
path, threads, rounds, load0, load1, commit, cpu, tv, kernels, nice = sys.argv[1:11]
best = {}
def keep(k, v): best[k] = min(best.get(k, float("inf")), v)
for line in open(path):
    r = json.loads(line)
    if r["side"] == "pytorch":
        keep(("pytorch", r["name"].split("_")[1]), r["value"])
    elif r.get("name") == "train_step_over_forward_smollm2":
        keep(("irm", "step"), r["step_s"]); keep(("irm", "forward"), r["forward_s"])
print(f"{datetime.date.today()} · irm {commit} · PyTorch {tv} · {cpu}, {threads} threads · best of {rounds} "
      f"interleaved rounds · load average {load0} before, {load1} after"
      + (" · a `nice 19` busy loop per core beside both sides" if nice == "1" else ""))
print(f"irm kernels: {kernels}")
print()
print("| SmolLM2 + reference IRM, 8×128 | PyTorch (s) | irm (s) | irm speed vs PyTorch |")
print("|---|---:|---:|---:|")
for k, label in [("step", "training step (forward with the IRM, backward, Adam)"), ("forward", "forward, no gradients")]:
    p, i = best.get(("pytorch", k), 0), best.get(("irm", k), 0)
    print(f"| {label} | {p:.2f} | {i:.2f} | {p / i:.2f}× |" if i > 0 else f"| {label} | {p:.2f} | – | – |")
PY
