#!/usr/bin/env bash
# make check-7b: Llama-2-7b-chat at its real shape with random weights (the real ones are not on this machine).
# Writes, once, a Hugging Face folder as Meta publishes it (config.json, two fp16 shards of ~10.0 and ~3.5 GB with
# model.safetensors.index.json, tokenizer.model from ../shared) and a Q4_K_M GGUF with Llama 2 metadata and the
# same tokenizer; then on each runs info, generate (8 tokens), logits, train (2 steps, with the memory plan's own
# suggestion when the default IRM does not fit), neurons map --layers 31 and heatmap, and prints a Markdown table
# of wall time and peak RSS (GNU time) next to the plan's figure. Then the paper's IRMs at Q4_K_M: which fit 24 GB.
# Not part of `make test`. Settings: WORK (default /tmp/irm-check-7b, ~17.5 GB of files), KEEP=1 keeps the runs,
# SHAPE=tiny.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/irm-check-7b}
SHAPE=${SHAPE:-llama2-7b}    # SHAPE=tiny: the same check in seconds (4 layers, 256 wide), for trying the script
LAYERS=32; [ "$SHAPE" = tiny ] && LAYERS=4
TOKENIZER=../shared/models/llama2-tokenizer/tokenizer.model
[ -f "$TOKENIZER" ] || { echo "check-7b: $TOKENIZER missing (../shared)" >&2; exit 1; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
mkdir -p "$WORK"
avail=$(df -B1 --output=avail "$WORK" | tail -1)

swift build -c release --product irm >/dev/null
swift build -c release --product irm-mkmodel >/dev/null
IRM=$PWD/.build/release/irm
HF=$WORK/Llama-2-7b-chat-hf
GGUF=$WORK/llama-2-7b-chat.Q4_K_M.gguf
if [ ! -f "$HF/config.json" ] || [ ! -f "$GGUF" ]; then
    [ "$avail" -gt 19000000000 ] || { echo "check-7b: $WORK needs ~17.5 GB free (has $avail bytes)" >&2; exit 1; }
fi
[ -f "$HF/config.json" ] || /usr/bin/time -f "check-7b: HF folder written in %e s" \
    .build/release/irm-mkmodel --shape "$SHAPE" --hf "$HF" --tokenizer "$TOKENIZER"
[ -f "$GGUF" ] || /usr/bin/time -f "check-7b: Q4_K_M GGUF written in %e s" \
    .build/release/irm-mkmodel --shape "$SHAPE" --gguf "$GGUF" --type q4_k_m --tokenizer "$TOKENIZER"
ls -l "$HF" "$GGUF" >&2

rows=()
# step MODEL-LABEL COMMAND-LABEL PLAN-BYTES ARGS...: runs irm ARGS under GNU time; a failure fails the check.
step() {
    local label=$1 what=$2 plan=$3; shift 3
    local log=$WORK/log.$label.${what// /_}
    echo "check-7b: $label: irm $*" >&2
    if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$IRM" "$@" >"$log" 2>&1; then
        tail -5 "$log" >&2; echo "check-7b: FAILED: irm $*" >&2; exit 1
    fi
    read -r secs kb <"$WORK/time"
    rows+=("| $label | $what | $secs | $(awk -v k="$kb" 'BEGIN{printf "%.2f", k*1024/1e9}') | $plan |")
}
gb() { awk -v b="$1" 'BEGIN{printf "%.2f", b/1e9}'; }

for label in hf-fp16 gguf-q4_k_m; do
    model=$HF; [ "$label" = gguf-q4_k_m ] && model=$GGUF
    "$IRM" info --model "$model" >"$WORK/info.$label"
    weights=$(awk '$1=="in" && $2=="memory" {print $3}' "$WORK/info.$label")     # GB, as info prints it
    expected=$(awk '$1=="parameters" {print $2}' "$WORK/info.$label")
    [ "$SHAPE" != llama2-7b ] || [ "$expected" = 6738415616 ] ||
        { echo "check-7b: info counts $expected parameters, not Llama-2-7B's 6738415616" >&2; exit 1; }
    step "$label" info "$weights (weights)" info --model "$model"
    step "$label" "generate 8" "$weights (weights)" generate --model "$model" --chat --prompt "Why is the sky blue?" \
        --max-tokens 8 --stats
    step "$label" logits "$weights (weights)" logits --model "$model" --chat --prompt "Why is the sky blue?" \
        --out "$WORK/logits.$label.f32"
    [ "$(stat -c %s "$WORK/logits.$label.f32")" = $((32000 * 4)) ] || { echo "check-7b: logits are not 32000 floats" >&2; exit 1; }

    # Training: 1×64-token batches so that 2 steps take minutes, not hours; the default IRM (all 32 layers,
    # width 3) first, and when the plan refuses it, the first alternative it proposes.
    train=(train --model "$model" --dataset anger --limit 24 --batch-size 1 --seq-len 64 --max-steps 2
           --eval-every 2 --sample-tokens 0 --no-heatmaps --runs "$WORK/runs")
    rm -rf "$WORK/runs/$label"
    extra=()
    if ! "$IRM" "${train[@]}" --name "$label" --plan-only >"$WORK/plan.$label" 2>&1; then
        suggestion=$(sed -n 's/.*try \(.*\) (needs .*/\1/p' "$WORK/plan.$label" | sed 's/ (needs.*//; s/),.*//')
        [ -n "$suggestion" ] || { cat "$WORK/plan.$label" >&2; echo "check-7b: no plan suggestion" >&2; exit 1; }
        echo "check-7b: $label: the default IRM does not fit; the plan suggests: $suggestion" >&2
        read -r -a extra <<<"$suggestion"
        "$IRM" "${train[@]}" "${extra[@]}" --name "$label" --plan-only >"$WORK/plan.$label" 2>&1
    fi
    plan=$(awk '$1=="total" {print $2" "$3}' "$WORK/plan.$label" | tail -1)
    step "$label" "train 2 steps ${extra[*]:-(default IRM)}" "$plan (plan)" "${train[@]}" "${extra[@]}" --name "$label"
    step "$label" "neurons map --layers $((LAYERS - 1))" "$weights (weights)" neurons map --model "$model" --layers $((LAYERS - 1)) \
        --out "$WORK/neurons.$label.nmap"
    step "$label" heatmap "$weights (weights)" heatmap --run "$WORK/runs/$label" --max-tokens 8
done

echo
echo "make check-7b, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads"
echo
echo "| model | command | time (s) | peak RSS (GB) | plan |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"

# The paper's IRMs (batch 8×128) on the Q4_K_M file: which fit 24 GB, from the plan.
echo
echo "Paper IRMs on Llama-2-7B Q4_K_M, batch 8×128, planned against 24 GB:"
echo
echo "| IRM | plan | fits | with --recompute | fits |"
echo "|---|---:|---|---:|---|"
Q=$((LAYERS / 4))
for irm in "--layers all --width 3" "--layers 0-$((Q - 1)) --width 3" "--layers $Q-$((2 * Q - 1)) --width 3" \
           "--layers $((3 * Q))-$((LAYERS - 1)) --width 3" "--layers 3:$((LAYERS - 1)):4 --width 3" "--layers all --width 1" \
           "--layers 0-$((Q - 1)) --width 1"; do
    line="| \`$irm\` |"
    for rec in "" --recompute; do
        # shellcheck disable=SC2086
        out=$("$IRM" train --model "$GGUF" --dataset anger --plan-only --max-memory 24G $irm $rec 2>&1 || true)
        total=$(awk '$1=="total" {print $2" "$3}' <<<"$out" | tail -1)
        fits=$(grep -q 'does NOT fit' <<<"$out" && echo no || echo yes)
        line="$line $total | $fits |"
    done
    echo "$line"
done
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK/runs" "$WORK"/logits.* "$WORK"/neurons.*
