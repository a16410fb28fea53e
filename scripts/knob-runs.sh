#!/usr/bin/env bash
# Issue 19's long runs, in priority order; each is started, or resumed where it stopped (run it again after an
# interruption, or in a later session). Every run validates and records the IRM's stripes every 100 steps.
#   the network IRM under the reference objective, anger, 2000 steps (long-reference-anger)
#   a constant-vector IRM (--irm-kind constant, zero start, lr 1e-2) under both objectives, anger and neutral,
#   CONST_STEPS steps (default 500; rerun with CONST_STEPS=1000 to continue them)
# Runs niced (`nice 19`) so that other work on the machine keeps priority. Logs: Runs/<name>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
IRM=.build/release/irm
[ -x "$IRM" ] || swift build -c release --product irm >/dev/null

one() {   # one NAME ARGS...: train NAME with ARGS, or resume it (to ARGS' --max-steps) when its folder exists
    local name=$1; shift
    local steps
    steps=$(printf '%s\n' "$@" | awk 'p { print; exit } $0 == "--max-steps" { p = 1 }')
    if [ -f "Runs/$name/config.json" ]; then
        nice -n 19 "$IRM" train --resume "Runs/$name" --max-steps "$steps" >>"Runs/$name.log" 2>&1
    else
        nice -n 19 "$IRM" train --name "$name" "$@" >>"Runs/$name.log" 2>&1
    fi
    echo "knob-runs: $name exit $? ($(tail -c 300 "Runs/$name.log" | tr '\r' '\n' | grep -E '^(finished|step)' | tail -1))"
}

common=(--epochs 100 --eval-every 100 --patience 1000 --no-heatmaps)
one long-reference-anger --dataset anger --objective reference --lr 1e-4 --max-steps 2000 "${common[@]}"
for data in anger neutral; do
    for obj in reference response; do
        one "const-$obj-$data" --dataset "$data" --objective "$obj" --irm-kind constant --init zero-output --lr 1e-2 \
            --max-steps "${CONST_STEPS:-500}" "${common[@]}"
    done
done
