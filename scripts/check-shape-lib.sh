# Sourced by check-7b.sh and check-8b.sh: what a check of a model file at a real shape does, in one place.
# The caller sets CHECK (its name, for messages), WORK, SHAPE and VOCAB, then calls `setup`, `model_steps` per
# model file and `table`; `step` runs any further command the same way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
IRM=$PWD/.build/release/irm MK=$PWD/.build/release/irm-mkmodel
rows=()

fail() { echo "$CHECK: $*" >&2; exit 1; }

# setup: GNU time, the work folder, release builds of irm and irm-mkmodel.
setup() {
    [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
    mkdir -p "$WORK"
    swift build -c release --product irm >/dev/null
    swift build -c release --product irm-mkmodel >/dev/null
}

# step MODEL-LABEL COMMAND-LABEL PLAN ARGS...: irm ARGS under GNU time, a row of the table; a failure fails the check.
step() {
    local label=$1 what=$2 plan=$3; shift 3
    local log=$WORK/log.${label// /_}.${what//[ \/()]/_}
    echo "$CHECK: $label: irm $*" >&2
    if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$IRM" "$@" >"$log" 2>&1; then
        tail -5 "$log" >&2; fail "FAILED: irm $*"
    fi
    read -r secs kb <"$WORK/time"
    rows+=("| $label | $what | $secs | $(awk -v k="$kb" 'BEGIN{printf "%.2f", k*1024/1e9}') | $plan |")
}

# model_steps LABEL MODEL PROMPT TRAIN-OPTION...: info (already in $WORK/info.LABEL, which the caller has checked),
# generate 8 tokens of a chat answer, the logits (VOCAB floats), then 2 training steps on 1×64-token batches (so they
# take minutes, not hours) with the default IRM or, when the memory plan refuses it, the first alternative it
# proposes. Sets `weights` (GB in memory, as info prints it).
model_steps() {
    local label=$1 model=$2 prompt=$3; shift 3
    weights=$(awk '$1=="in" && $2=="memory" {print $3}' "$WORK/info.$label")
    step "$label" info "$weights (weights)" info --model "$model"
    step "$label" "generate 8 (chat)" "$weights (weights)" generate --model "$model" --chat --prompt "$prompt" \
        --max-tokens 8 --stats
    step "$label" logits "$weights (weights)" logits --model "$model" --chat --prompt "$prompt" \
        --out "$WORK/logits.$label.f32"
    [ "$(stat -c %s "$WORK/logits.$label.f32")" = $((VOCAB * 4)) ] || fail "logits are not $VOCAB floats"
    local train=(train --model "$model" --dataset anger --limit 24 --batch-size 1 --seq-len 64 --max-steps 2
                 --eval-every 2 --sample-tokens 0 --no-heatmaps --runs "$WORK/runs" "$@")
    rm -rf "$WORK/runs/$label"
    local extra=()
    if ! "$IRM" "${train[@]}" --name "$label" --plan-only >"$WORK/plan.$label" 2>&1; then
        local suggestion
        suggestion=$(sed -n 's/.*try \(.*\) (needs .*/\1/p' "$WORK/plan.$label" | sed 's/ (needs.*//; s/),.*//')
        [ -n "$suggestion" ] || { cat "$WORK/plan.$label" >&2; fail "no plan suggestion"; }
        echo "$CHECK: $label: the default IRM does not fit; the plan suggests: $suggestion" >&2
        read -r -a extra <<<"$suggestion"
        "$IRM" "${train[@]}" "${extra[@]}" --name "$label" --plan-only >"$WORK/plan.$label" 2>&1
    fi
    local plan
    plan=$(awk '$1=="total" {print $2" "$3}' "$WORK/plan.$label" | tail -1)
    step "$label" "train 2 steps ${extra[*]:-(default IRM)}" "$plan (plan)" "${train[@]}" "${extra[@]}" --name "$label"
}

# table TITLE: the rows so far as a Markdown table under a line naming the check, the date, commit, CPU and threads.
table() {
    echo
    echo "$1, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads"
    echo
    echo "| model | command | time (s) | peak RSS (GB) | plan |"
    echo "|---|---|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
}
