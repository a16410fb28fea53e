#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of every parser a user's file reaches; the targets' bodies are in
# Sources/FuzzTargets, their entry points in Fuzz/<target>/main.swift.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]   build, then fuzz each target (default: all) for SECONDS (default 60)
#   scripts/fuzz.sh --build                  build only
#   scripts/fuzz.sh --seeds                  rewrite the seed corpus Fuzz/corpus/ with the project's writers
#
# The project's modules are compiled with the sanitizers into .build-fuzz/ (one object per module, rebuilt when a
# source changed), with -O rather than the -Ounchecked of the release build, so that overflow and bounds checks
# trap under the fuzzer. Each target runs on a fresh copy of Fuzz/corpus/<target>/ plus Fuzz/regressions/<target>/,
# restarted after each crash until its time is up. Every crashing input is written to Fuzz/regressions/<target>/;
# inputs that crash the same way (same error, same first frame in the project's code) are reduced to the smallest,
# which libFuzzer then minimizes.
# One line per target: executions, coverage, distinct crashes. `make test` replays Fuzz/regressions and Fuzz/corpus
# without any of this (Tests/FuzzRegressionTests).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build-fuzz
SWIFTC=${SWIFTC:-swiftc}
FLAGS=(-parse-as-library -O -target-cpu haswell -sanitize=fuzzer,address)
# -malloc_limit_mb: a parser that sizes an allocation from a file without checking it is caught (the inputs are
# a few kB); -timeout: one input may take 10 s at most; no leak check (Foundation itself leaks a buffer when it
# reads an empty file).
LIMITS="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -detect_leaks=0"
export ASAN_OPTIONS=detect_leaks=0
export SWIFT_BACKTRACE=enable=no   # the Swift backtracer runs under ASan at a crash: slow, and false reports
mkdir -p "$OUT/logs"

# ---- build: the library modules FuzzTargets needs, in dependency order, read from the package description (so a
# target that is split or renamed needs no change here)
build() {
    swift package describe --type json > "$OUT/package.json"
    python3 - "$OUT/package.json" > "$OUT/modules.txt" <<'PY'
import json, sys
targets = {t["name"]: t for t in json.load(open(sys.argv[1]))["targets"]}
order, seen = [], set()
def visit(n):
    if n in seen: return
    seen.add(n)
    for d in targets[n].get("target_dependencies", []): visit(d)
    order.append(n)
visit("FuzzTargets")
for n in order:
    t = targets[n]
    print(n, " ".join(t["path"] + "/" + s for s in t["sources"]))
PY
    local objects=()
    while read -r name sources; do
        local obj="$OUT/$name.o" stale=0
        [ -e "$obj" ] || stale=1
        for f in $sources "${objects[@]}"; do [ "$f" -nt "$obj" ] && stale=1; done
        if [ $stale = 1 ]; then
            echo "fuzz: compiling $name"
            local cpu=()
            # vpdpbusd cannot be lowered for Haswell: the VNNI kernels keep their target CPU (Package.swift).
            [ "$name" = KernelsVNNI ] && cpu=(-target-cpu cascadelake)
            # shellcheck disable=SC2086
            "$SWIFTC" "${FLAGS[@]}" "${cpu[@]}" -module-name "$name" -wmo -I "$OUT" -emit-module -emit-module-path "$OUT/$name.swiftmodule" \
                -c $sources -o "$obj"
        fi
        objects+=("$obj")
    done < "$OUT/modules.txt"
    for t in "${TARGETS[@]}"; do
        local bin="$OUT/fuzz-$t" stale=0
        [ -e "$bin" ] || stale=1
        for f in Fuzz/$t/main.swift "${objects[@]}"; do [ "$f" -nt "$bin" ] && stale=1; done
        if [ $stale = 1 ]; then
            # ld.gold warns about every sanitizer-local symbol it cannot export: harmless.
            "$SWIFTC" "${FLAGS[@]}" -I "$OUT" "Fuzz/$t/main.swift" "${objects[@]}" -o "$bin" 2>&1 \
                | { grep -v "Cannot export local symbol" || true; }
        fi
    done
}

# ---- a crash's signature: what went wrong (the runtime's or sanitizer's error; for the target's own check, the
# words of the message before the first quoted name or number) and the first frame in the project's code
signature() {
    timeout 120 "$OUT/fuzz-$1" "$2" $LIMITS 2>&1 | python3 -c '
import re, sys
log = sys.stdin.read().splitlines()
err = next((l for l in log if "Fatal error" in l or "ERROR: AddressSanitizer" in l or "ERROR: libFuzzer" in l), "?")
m = re.search(r"not one line naming (\S+): (?:\1)?:? ?(.*)", err)
if m: err = "message: " + re.split(r"[\x27\"0-9]", m.group(2))[0][:50]
else: err = re.sub(r"0x[0-9a-f]+|==\d+==|\d+", "", err.split(" Fatal error: ")[-1])[:80]
frame = next((m.group(1) for l in log for m in [re.search(r" in (\$s(?!s)\S+)", l)] if m and "fuzzOne" not in l), "?")
print(err.strip(), frame)' || true
}

run() {
    local t=$1 work="$OUT/corpus/$1" reg="Fuzz/regressions/$1" log="$OUT/logs/$1.log"
    rm -rf "$work"; mkdir -p "$work" "$reg"
    cp Fuzz/corpus/"$t"/* "$work"/
    cp "$reg"/* "$work"/ 2>/dev/null || true
    local before; before=$(ls "$reg")
    # libFuzzer stops at a crash (writing the input to $reg): start it again on the grown corpus until the time is up.
    local deadline=$(( $(date +%s) + SECONDS_EACH )) runs=0 left
    : > "$log"
    while left=$(( deadline - $(date +%s) )); [ "$left" -gt 0 ] && [ $runs -lt 100 ]; do
        # shellcheck disable=SC2086
        "$OUT/fuzz-$t" "$work" -max_total_time="$left" $LIMITS -print_final_stats=1 -artifact_prefix="$reg/" \
            >> "$log" 2>&1 || true
        runs=$((runs + 1))
    done
    # New artifacts: keep the smallest input of each signature.
    declare -A keep=()
    local found=0
    for f in $(ls -S -r "$reg"); do
        grep -qxF "$f" <<< "$before" && continue
        found=$((found + 1))
        local sig; sig=$(signature "$t" "$reg/$f")
        if [ -n "${keep[$sig]:-}" ]; then rm -f "$reg/$f"; else keep[$sig]=$f; echo "  $t: $f  $sig" >> "$OUT/crashes.txt"; fi
    done
    # Each one as small as libFuzzer can make it (10 s at most).
    for f in "${keep[@]}"; do
        # shellcheck disable=SC2086
        timeout 60 "$OUT/fuzz-$t" -minimize_crash=1 -max_total_time=10 $LIMITS -exact_artifact_path="$reg/$f.min" "$reg/$f" \
            > /dev/null 2>&1 || true
        if [ -s "$reg/$f.min" ]; then mv "$reg/$f.min" "$reg/$f"; else rm -f "$reg/$f.min"; fi
    done
    rmdir "$reg" 2>/dev/null || true
    local execs cov
    execs=$(awk '/^stat::number_of_executed_units/ { n += $NF } END { print n + 0 }' "$log")
    cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    printf '%-16s execs %10d  cov %6d  crashes %3d (%d inputs, %d runs)\n' "$t" "$execs" "$cov" "${#keep[@]}" "$found" "$runs"
    # Scratch folders of the target's processes (FuzzTargets writes the inputs of path-based loaders there).
    for d in /dev/shm/irm-fuzz-*; do [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"; done
    return 0
}

all_targets() { for d in Fuzz/*/main.swift; do basename "$(dirname "$d")"; done; }

case "${1:-}" in
--seeds)
    mapfile -t TARGETS < <(all_targets)
    build
    # An ordinary program (its own main): the objects' coverage hooks come from the ASan runtime.
    "$SWIFTC" -parse-as-library -O -target-cpu haswell -sanitize=address -I "$OUT" Fuzz/WriteSeeds.swift "$OUT"/*.o \
        -o "$OUT/write-seeds" 2>&1 \
        | { grep -v "Cannot export local symbol" || true; }
    rm -rf Fuzz/corpus && "$OUT/write-seeds" && echo "fuzz: wrote Fuzz/corpus/" ;;
--build)
    mapfile -t TARGETS < <(all_targets); build ;;
*)
    SECONDS_EACH=${1:-60}
    shift || true
    if [ $# -gt 0 ]; then TARGETS=("$@"); else mapfile -t TARGETS < <(all_targets); fi
    start=$(date +%s)
    build
    : > "$OUT/crashes.txt"
    echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_EACH} s each (logs in $OUT/logs/)"
    for t in "${TARGETS[@]}"; do run "$t"; done
    if [ -s "$OUT/crashes.txt" ]; then echo "new crashes (in Fuzz/regressions/):"; cat "$OUT/crashes.txt"; fi
    echo "fuzz: done in $(( $(date +%s) - start )) s" ;;
esac
