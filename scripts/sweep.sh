#!/usr/bin/env bash
# The paper's 24 runs (Smith et al. §4): 3 datasets (anger, sadness, neutral) × 8 injection-layer sets,
# scaled to the model's layer count n (for a 32-layer model: 0–31, 0–7, 8–15, 16–23, 24–31, every 4th
# layer from 3, and 0–7 and 0–31 with an L1 penalty on the IRM output). Each run gets its heatmaps.
# Usage: scripts/sweep.sh [extra irm train options...]   (e.g. --max-steps 300 --lr 1e-3)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/irm
MODEL_ARGS=()
[ -n "${MODEL:-}" ] && MODEL_ARGS=(--model "$MODEL")
n=$("$BIN" info "${MODEL_ARGS[@]}" | awk '/^layers/ {print $2}')
q=$(( (n + 2) / 4 ))                      # quarter size, rounded
last=$(( n - 1 ))
sets=("0-$last" "0-$((q - 1))" "$q-$((2 * q - 1))" "$((2 * q))-$((3 * q - 1))" "$((3 * q))-$last" "3:$last:4")
l1=${SWEEP_L1:-0.01}
stamp=$(date +%Y%m%d-%H%M%S)
for ds in anger sadness neutral; do
  for s in "${sets[@]}"; do
    "$BIN" train "${MODEL_ARGS[@]}" --dataset "$ds" --layers "$s" --name "sweep-$stamp-$ds-${s//:/_}" "$@"
  done
  "$BIN" train "${MODEL_ARGS[@]}" --dataset "$ds" --layers "0-$((q - 1))" --l1 "$l1" --name "sweep-$stamp-$ds-0-$((q - 1))-l1" "$@"
  "$BIN" train "${MODEL_ARGS[@]}" --dataset "$ds" --layers "0-$last" --l1 "$l1" --name "sweep-$stamp-$ds-0-$last-l1" "$@"
done
echo "sweep: 24 runs in Runs/sweep-$stamp-*/ (each with heatmaps/mean.png and heatmaps/summary.json)"
