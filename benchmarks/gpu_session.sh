#!/usr/bin/env bash
# One GPU session, run once on a machine with an NVIDIA (or ROCm) GPU and PyTorch with GPU support:
#   1. calibrate the card          -> benchmarks/results/<chip>-profile.json      (~1 min on an H100)
#   2. measure llama-3-8b (and qwen3-32b) steps -> benchmarks/results/<chip>-steps.csv (~2-4 min)
#   3. validate those rows without and with the profile -> $OUT/validate-*.json   (seconds)
# Everything (results, logs, nvidia-smi) is copied into $OUT (default benchmarks/results).
# Total well under 8 minutes on an H100; each step has its own timeout and a failure does not stop
# the later steps. Usage, from anywhere:  bash benchmarks/gpu_session.sh
# On an offline machine whose Python has the dependencies: SKIP_INSTALL=1 bash benchmarks/gpu_session.sh
# Then, on any machine: python benchmarks/compare_profile.py <profile> (the card against the public tables).
# SETS=moe runs the MoE session instead: calibrate times the routed-expert layers of mixtral-8x7b and qwen3-30b-a3b
# (profile written as <chip>-moe-profile.json), and measure times both models' steps in bf16 (grouped GEMMs).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
RES=benchmarks/results
OUT=${OUT:-$RES}
mkdir -p "$RES" "$OUT"
LOG="$OUT/session.log"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }
START=$(date +%s)

if [ -n "${SKIP_INSTALL:-}" ]; then
  # an offline machine whose Python already has the dependencies (or wheels on PYTHONPATH): run from src/
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
  log "no install (SKIP_INSTALL): PYTHONPATH=$PYTHONPATH"
else
  log "install (pip install -e .)"
  if ! $PY -m pip install -q -e . >>"$OUT/pip.log" 2>&1; then
    # the GPU machine may be offline: the dependencies are usually there already
    log "pip install -e . failed (offline?); retrying without dependencies"
    $PY -m pip install -q --no-deps --no-build-isolation -e . >>"$OUT/pip.log" 2>&1 \
      || { log "install failed: see $OUT/pip.log"; exit 1; }
  fi
fi
$PY - <<'PYEOF' 2>&1 | tee -a "$LOG" || exit 1
import sys, torch
import infercast
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| hip", torch.version.hip, "| gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
if not torch.cuda.is_available():
    sys.exit("no GPU visible to PyTorch: this script is for a GPU machine")
PYEOF
(nvidia-smi || rocm-smi) >"$OUT/smi.txt" 2>&1 || true
# SM clock, power and temperature every 0.5 s while the session runs: a sustained run may clock lower than a burst
SMI_PID=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 500 \
    >"$OUT/clocks.csv" 2>/dev/null &
  SMI_PID=$!
fi

IC="$PY -m infercast.cli"
SETS=${SETS:-dense}
MODELS=llama-3-8b,qwen3-32b TAG=
[ "$SETS" = moe ] && MODELS=mixtral-8x7b,qwen3-30b-a3b TAG=-moe

# 1. calibrate: the profile is written under a temporary name, then renamed after the catalog id
log "calibrate"
TMP="$RES/profile-tmp.json"
SUST=20
[ "$SETS" = moe ] && SUST=0
timeout 240 $IC calibrate --models "$MODELS" --sustained $SUST --out "$TMP" 2>>"$OUT/calibrate.err" | tee -a "$LOG"
CHIP=unknown-gpu
if [ -s "$TMP" ]; then
  CHIP=$($PY -c "import json,sys; print(json.load(open(sys.argv[1])).get('catalog_id') or 'unknown-gpu')" "$TMP")
  mv "$TMP" "$RES/$CHIP$TAG-profile.json"
  log "profile: $RES/$CHIP$TAG-profile.json"
else
  log "calibrate failed: see $OUT/calibrate.err"
  CHIP=$($PY -c "import torch; from infercast.gpu.calibrate import catalog_id; print(catalog_id(torch.cuda.get_device_name(0)) or 'unknown-gpu')")
fi
PROFILE="$RES/$CHIP$TAG-profile.json"
CSV="$RES/$CHIP$TAG-steps.csv"

# 2. measure: decode steps in CUDA graphs, eager prefills. The llama-3-8b sets are the H100 OWN rows' shapes
#    (data/measured/README.md), so the two cards compare row for row; qwen3-32b (64 GB of bf16 weights) adds a
#    wider dense model where the card's memory allows it. Each set is one `measure` call with its own timeout.
log "measure on $CHIP"
: >"$CSV"
measure_set() {  # measure_set MODEL TIMEOUT ARGS...: append the rows of one call to $CSV
  local model=$1 limit=$2; shift 2
  local part="$RES/part.csv"
  rm -f "$part"
  if timeout "$limit" $IC measure --model "$model" "$@" --out "$part" 2>>"$OUT/measure.err" | tee -a "$LOG" \
     && [ -s "$part" ]; then
    if [ -s "$CSV" ]; then tail -n +2 "$part" >>"$CSV"; else cat "$part" >"$CSV"; fi
  else
    log "measure $model $* failed: see $OUT/measure.err"
  fi
}
if [ "$SETS" = moe ]; then
  # 93 GB (mixtral) and 61 GB (qwen3-30b-a3b) of bf16 weights: one H200 holds either with a cache; the routed
  # experts run as grouped GEMMs in CUDA graphs (gpu/moe.py). llama-3-8b's batch-1 and batch-64 steps repeat
  # earlier sessions' rows, to show the day-to-day spread beside the new ones.
  measure_set mixtral-8x7b 200 --batch 1,8,32,64,128 --context 1024 --prefill 512,2048,8192
  measure_set qwen3-30b-a3b 200 --batch 1,8,32,64,128,256 --context 1024 --prefill 512,2048,8192
  measure_set llama-3-8b 60 --batch 1,64 --context 1024 --prefill ""
else
measure_set llama-3-8b 150 --batch 1,8,32,64,128,256 --context 1024 --prefill 512,2048,8192
measure_set llama-3-8b 90 --batch 32 --context 4096 --prefill 2048 --prefill-batch 4
measure_set llama-3-8b 90 --batch 16 --context 16384 --prefill 1024 --prefill-batch 16
measure_set qwen3-32b 150 --batch 1,16,64 --context 1024 --prefill 2048
# the same shapes with fp8 linear layers (torch._scaled_mm), where the card has fp8 tensor cores
measure_set llama-3-8b 150 --weights fp8 --batch 1,8,32,64,128,256 --context 1024 --prefill 512,2048,8192
measure_set qwen3-32b 150 --weights fp8 --batch 1,16,64 --context 1024 --prefill 2048
fi
[ -s "$CSV" ] || rm -f "$CSV"
rm -f "$RES/part.csv"

# 3. validate the measured rows: the catalog's family efficiencies, then this card's profile
if [ -s "$CSV" ]; then
  log "validate (family defaults)"
  timeout 120 $IC validate --data "$CSV" --plot "" --json >"$OUT/validate-default.json" 2>>"$OUT/validate.err" \
    || log "validate failed: see $OUT/validate.err"
  if [ -s "$PROFILE" ]; then
    log "validate (--profile $PROFILE)"
    timeout 120 $IC validate --data "$CSV" --profile "$PROFILE" --plot "" --json >"$OUT/validate-profile.json" \
      2>>"$OUT/validate.err" || log "validate --profile failed: see $OUT/validate.err"
  fi
  $PY - "$OUT" <<'PYEOF' 2>&1 | tee -a "$LOG"
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
for name in ("validate-default.json", "validate-profile.json"):
    p = out / name
    try:
        s = json.loads(p.read_text())["summary"]
    except Exception as e:  # noqa: BLE001
        print(f"{name}: unreadable ({e})"); continue
    print(f"{name}: compared {s.get('compared')}, median |err| {s.get('median_abs_error')}, "
          f"median signed {s.get('median_signed_error')}")
PYEOF
fi

[ "$OUT" != "$RES" ] && cp -f "$RES"/"$CHIP"-* "$OUT"/ 2>/dev/null
[ -n "$SMI_PID" ] && kill "$SMI_PID" 2>/dev/null
log "done in $(( $(date +%s) - START )) s; files in $OUT"
