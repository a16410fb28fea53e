#!/usr/bin/env bash
# make check-7b: Llama-2-7b-chat at its real shape with random weights (the real ones are not on this machine).
# Writes, once, a Hugging Face folder as Meta publishes it (config.json, two fp16 shards of ~10.0 and ~3.5 GB with
# model.safetensors.index.json, tokenizer.model from ../shared) and a Q4_K_M GGUF with Llama 2 metadata and the
# same tokenizer; then on each runs info, generate (8 tokens), logits, train (2 steps, with the memory plan's own
# suggestion when the default IRM does not fit), neurons map --layers 31 and heatmap, and prints a Markdown table
# of wall time and peak RSS (GNU time) next to the plan's figure. Then the paper's IRMs at Q4_K_M: which fit 24 GB.
# Not part of `make test`. Settings: WORK (default /tmp/irm-check-7b, ~17.5 GB of files), KEEP=1 keeps the runs,
# SHAPE=tiny.
CHECK=check-7b
source "$(dirname "$0")/check-shape-lib.sh"
WORK=${WORK:-/tmp/irm-check-7b}
SHAPE=${SHAPE:-llama2-7b}    # SHAPE=tiny: the same check in seconds (4 layers, 256 wide), for trying the script
VOCAB=32000
LAYERS=32; [ "$SHAPE" = tiny ] && LAYERS=4
TOKENIZER=../shared/models/llama2-tokenizer/tokenizer.model
[ -f "$TOKENIZER" ] || fail "$TOKENIZER missing (../shared)"
setup
avail=$(df -B1 --output=avail "$WORK" | tail -1)

HF=$WORK/Llama-2-7b-chat-hf
GGUF=$WORK/llama-2-7b-chat.Q4_K_M.gguf
if [ ! -f "$HF/config.json" ] || [ ! -f "$GGUF" ]; then
    [ "$avail" -gt 19000000000 ] || fail "$WORK needs ~17.5 GB free (has $avail bytes)"
fi
[ -f "$HF/config.json" ] || /usr/bin/time -f "check-7b: HF folder written in %e s" \
    "$MK" --shape "$SHAPE" --hf "$HF" --tokenizer "$TOKENIZER"
[ -f "$GGUF" ] || /usr/bin/time -f "check-7b: Q4_K_M GGUF written in %e s" \
    "$MK" --shape "$SHAPE" --gguf "$GGUF" --type q4_k_m --tokenizer "$TOKENIZER"
ls -l "$HF" "$GGUF" >&2

for label in hf-fp16 gguf-q4_k_m; do
    model=$HF; [ "$label" = gguf-q4_k_m ] && model=$GGUF
    "$IRM" info --model "$model" >"$WORK/info.$label"
    expected=$(awk '$1=="parameters" {print $2}' "$WORK/info.$label")
    [ "$SHAPE" != llama2-7b ] || [ "$expected" = 6738415616 ] ||
        fail "info counts $expected parameters, not Llama-2-7B's 6738415616"
    model_steps "$label" "$model" "Why is the sky blue?"
    step "$label" "neurons map --layers $((LAYERS - 1))" "$weights (weights)" neurons map --model "$model" --layers $((LAYERS - 1)) \
        --out "$WORK/neurons.$label.nmap"
    step "$label" heatmap "$weights (weights)" heatmap --run "$WORK/runs/$label" --max-tokens 8
done

table "make check-7b"

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
