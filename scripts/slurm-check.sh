#!/usr/bin/env bash
# make slurm-check: `irm sweep --emit-slurm` on a real SLURM. Starts a single-node cluster on this machine
# (Debian's slurm-wlm and munge, installed if missing; every daemon's state, socket and log under a temporary
# folder, custom ports), submits a 2-run sweep as a job array and, while the second task trains, cancels it
# (scancel: SIGTERM, the run checkpoints) and requeues it (scontrol requeue). Checks that both run folders end
# complete and that the requeued task resumed its run from the checkpoint instead of starting over.
# Needs root (it installs packages and runs slurmctld, slurmd and munged). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.build/release/irm
START=$(date +%s)
say() { echo "slurm-check [$(( $(date +%s) - START ))s]: $*"; }
fail() { echo "slurm-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (installs slurm-wlm and munge, starts slurmctld, slurmd and munged)"
[ -x "$BIN" ] || fail "$BIN not built (make build)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
fi

T=$(mktemp -d /tmp/irm-slurm-check.XXXXXX)
chmod 755 "$T"                     # munged runs as user munge and must reach its folder
HOST=$(hostname -s)
PORT=$(( 20000 + RANDOM % 20000 ))
export SLURM_CONF=$T/slurm.conf
cleanup() {
  for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  if [ -n "${KEEP:-}" ]; then echo "slurm-check: state kept in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# munge: a fresh key, the daemon as user munge, its socket under $T.
mkdir -p "$T/munge"
mungekey -c -k "$T/munge/munge.key" >/dev/null
chown -R munge:munge "$T/munge"
chmod 755 "$T/munge"               # clients (slurmctld, slurmd) reach the socket here
runuser -u munge -- munged --key-file="$T/munge/munge.key" --socket="$T/munge/munge.socket" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed"

mkdir -p "$T/state" "$T/spool"
cat > "$SLURM_CONF" <<EOF
ClusterName=irmcheck
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket
SlurmctldPort=$PORT
SlurmdPort=$(( PORT + 1 ))
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=60
NodeName=$HOST CPUs=$(nproc) State=UNKNOWN
PartitionName=check Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ] && break
  sleep 1
done
[ "$(sinfo -h -o %T | head -1)" = idle ] || fail "the node did not come up: $(sinfo 2>&1 | tail -1); see $T/slurmd.log"
say "single-node cluster up on $HOST (ports $PORT, $(( PORT + 1 )))"

# Two tiny runs of 12 steps with a checkpoint every 2; one cpu per task, so both tasks run side by side.
cat > "$T/plan.json" <<'EOF'
{"options": {"limit": 16, "width": 1, "layers": "0-3", "seq-len": 40, "batch-size": 2, "eval-every": 2,
             "max-steps": 12, "system": "Be brief.", "sample-tokens": 0, "no-heatmaps": true},
 "axes": [{"dataset": ["anger", "neutral"]}]}
EOF
SWEEP=$T/sweeps/check
"$BIN" sweep --plan "$T/plan.json" --sweeps "$T/sweeps" --name check --threads 1 --emit-slurm "$T/check.sbatch"
JOB=$(sbatch --parsable "$T/check.sbatch")
say "submitted job array $JOB"

steps() { [ -f "$1/metrics.csv" ] && tail -n +2 "$1/metrics.csv" | wc -l || echo 0; }
state() { squeue -h -j "$1" -o %T 2>/dev/null | head -1; }
RUN1=$SWEEP/neutral-0-3
for _ in $(seq 600); do [ "$(steps "$RUN1")" -ge 2 ] && break; sleep 0.5; done
[ "$(steps "$RUN1")" -ge 2 ] || fail "task 1 did not reach its first checkpoint; see $SWEEP/logs"
scancel "${JOB}_1"
for _ in $(seq 120); do [ "$(state "${JOB}_1")" != RUNNING ] && [ "$(state "${JOB}_1")" != COMPLETING ] && break; sleep 0.5; done
AT=$(steps "$RUN1")
say "cancelled task 1 at step $AT of 12"
[ "$AT" -lt 12 ] || fail "task 1 finished before it was cancelled (make the runs longer)"
scontrol requeue "${JOB}_1"
# SLURM holds a requeued job back for a couple of minutes (its begin time); let it start at once.
for _ in $(seq 20); do [ "$(state "${JOB}_1")" = PENDING ] && break; sleep 0.5; done
scontrol update JobId="${JOB}_1" StartTime=now
say "requeued task 1"
for _ in $(seq 1200); do [ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && break; sleep 1; done
[ -z "$(squeue -h -j "$JOB")" ] || fail "the job array did not finish: $(squeue -j "$JOB" | tail -n +2)"

for run in anger-0-3 neutral-0-3; do
  d=$SWEEP/$run
  # The committed checkpoint: the pair of files checkpoint.json names.
  [ -s "$d/checkpoint.json" ] || fail "$d/checkpoint.json missing"
  gen=$(python3 -c 'import json, sys; print("%06d" % json.load(open(sys.argv[1]))["generation"])' "$d/checkpoint.json")
  for f in config.json "checkpoint-$gen.irm.safetensors" "checkpoint-$gen.optimizer.safetensors" irm-best.safetensors metrics.csv; do
    [ -s "$d/$f" ] || fail "$d/$f missing"
  done
  [ "$(tail -n +2 "$d/metrics.csv" | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 9 10 11 12 " ] \
    || fail "$d/metrics.csv does not hold steps 1-12 once each"
  grep -q "finished: max steps at step 12" "$SWEEP/logs/$run.log" || fail "$run did not finish (see $SWEEP/logs/$run.log)"
done
grep -qE "^== .* resume at step [1-9][0-9]*: irm train --resume" "$SWEEP/logs/neutral-0-3.log" \
  || fail "the requeued task did not resume its run (see $SWEEP/logs/neutral-0-3.log)"
[ "$(grep -c '^== .* new: ' "$SWEEP/logs/neutral-0-3.log")" = 1 ] || fail "the requeued task started its run over"
ls "$SWEEP/logs/slurm-${JOB}_0.out" "$SWEEP/logs/slurm-${JOB}_1.out" >/dev/null || fail "per-task SLURM logs missing"
say "$(grep -oE 'resume at step [0-9]+' "$SWEEP/logs/neutral-0-3.log" | head -1) after the requeue; both runs complete"
echo "slurm-check: OK in $(( $(date +%s) - START )) s"
