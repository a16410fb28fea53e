#!/usr/bin/env bash
# make report-check: a real run's report.html in a real browser. Installs Debian's chromium when it is missing,
# trains a short anger IRM on SmolLM2 (the reference IRM on every layer), draws its heatmaps, evaluates it on a
# few questions (train and eval each write report.html), takes a headless screenshot of the report and checks
# it with scripts/check_screenshot.py: not blank, and the heatmaps' colormap colours are on the screen.
# With REPORT_CHECK_ANALYZE=1 (the default) it also runs `irm analyze` on a small probe (4 questions, 16 tokens), so
# every section of the page is drawn. REPORT_CHECK_STEPS (default 20) sets the training length. Replaces
# Runs/report-check each time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/irm
RUN=Runs/report-check
STEPS=${REPORT_CHECK_STEPS:-20}
W=1400 H=3000
start=$(date +%s)

if ! command -v chromium >/dev/null 2>&1; then
    echo "report-check: installing chromium (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

rm -rf "$RUN"
"$BIN" train --dataset anger --name report-check --max-steps "$STEPS" --eval-every 10 --lr 1e-3 --init zero-output
"$BIN" eval --run "$RUN" --n 6 --max-tokens 40
if [ "${REPORT_CHECK_ANALYZE:-1}" = 1 ]; then "$BIN" analyze --run "$RUN" --questions 4 --max-tokens 16; fi
"$BIN" report --run "$RUN"

# The browser runs as root in a container: no sandbox, no GPU. Its D-Bus complaints go to the log.
shot="$RUN/report-screenshot.png"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --screenshot="$PWD/$shot" --window-size=$W,$H "file://$PWD/$RUN/report.html" >"$RUN/chromium.log" 2>&1 \
    || { cat "$RUN/chromium.log"; echo "report-check: chromium failed" >&2; exit 1; }
python3 scripts/check_screenshot.py "$RUN/report.html" "$shot" $W $H
echo "report-check: $RUN/report.html, screenshot $shot ($(( $(date +%s) - start )) s)"
