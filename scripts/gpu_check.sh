#!/usr/bin/env bash
# The one device check of issue 18: install the carried wheels beside the machine's torch, run
# the suite through boo and torch (cuDNN) on the GPU with verification, write the report, then
# the daemon and the shim end to end, and boo-driver --device cuda once. Under 8 minutes.
#
#   scripts/gpu_check.sh [OUT_DIR]            # on the GPU machine: gpu_bundle/ carried, $OUT given
#   scripts/gpu_check.sh --cpu [OUT_DIR]      # anywhere: the same steps on the cpu target (the test)
#
# Env: BUNDLE (default gpu_bundle), BOO_GPU_TARGETS (default: the bundle's), PY (default python3,
# or .venv/bin/python with --cpu), BUDGET_S (suite timing budget, default 300).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CPU=0
if [ "${1:-}" = "--cpu" ]; then CPU=1; shift; fi
DEST=${1:-${OUT:-out/gpu_check}}
BUNDLE=${BUNDLE:-gpu_bundle}
mkdir -p "$DEST"
LOG="$DEST/gpu_check.log"
exec > >(tee "$LOG") 2>&1
start=$(date +%s)
stamp() { echo "[gpu_check +$(( $(date +%s) - start ))s] $*"; }
export PYTHONUNBUFFERED=1

if [ "$CPU" = 1 ]; then
  PY=${PY:-.venv/bin/python}
  TARGETS=cpu
  CACHE=${CACHE:-$(mktemp -d /tmp/boo-gpu-check-cache.XXXXXX)}   # compiled here: cpu has a compiler
  SUITE=${SUITE:-$BUNDLE/suite.txt}
  [ -f "$SUITE" ] || { "$PY" bench/gpu_report.py --write-suite "$DEST/suite.txt" || exit 2; SUITE=$DEST/suite.txt; }
  EXTRA=(--max-flops "${MAX_FLOPS:-1e8}" --iters 3 --warmup 1)
  DEVICE_ARGS=()
else
  PY=${PY:-python3}
  [ -f "$BUNDLE/env.sh" ] || { echo "no $BUNDLE/env.sh: run scripts/gpu_bundle.sh on the CPU machine and carry $BUNDLE"; exit 2; }
  # shellcheck disable=SC1090,SC1091
  source "$BUNDLE/env.sh"
  TARGETS=$BOO_GPU_TARGETS
  CACHE=$BUNDLE/cache
  SUITE=$BUNDLE/suite.txt
  EXTRA=(--iters 20 --warmup 3)
  DEVICE_ARGS=(--device cuda)
  stamp "installing carried wheels (--no-deps, beside the machine's torch)"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/boo-site \
    "$BUNDLE"/wheels/*.whl || exit 3
  export PYTHONPATH=/tmp/boo-site${PYTHONPATH:+:$PYTHONPATH}
  nvidia-smi > "$DEST/nvidia-smi.txt" 2>&1 || true
fi
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
if [ "$CPU" = 0 ]; then
  now=$("$PY" -c 'from boo_shim.compile import _ir_code_hash as h; print(h())')
  if [ "$now" != "${BOO_BUNDLE_IR_CODE:-}" ]; then
    echo "gpu_check: the IR-writing code changed since the bundle was built ($BOO_BUNDLE_IR_CODE at" \
         "$BOO_BUNDLE_COMMIT, now $now): every kernel would miss; rebuild it with scripts/gpu_bundle.sh"
    exit 4
  fi
fi

stamp "environment"
"$PY" - <<'PYEOF'
import platform, torch, iree.runtime as rt
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "gpu", torch.cuda.get_device_name() if torch.cuda.is_available() else "none")
print("iree runtime drivers:", rt.query_available_drivers())
try:
    import iree.compiler  # noqa: F401
    print("iree compiler: present")
except ImportError:
    print("iree compiler: absent (kernels come from the carried cache)")
PYEOF

if [ "$CPU" = 1 ]; then
  # As gpu_bundle.sh does for cuda, so that the e2e stage's "entries added" must be 0 here too:
  # that proves the daemon's and the shim's keys are the ones the bundle holds.
  stamp "precompile (cpu)"
  "$PY" bench/gpu_report.py --precompile --suite "$SUITE" --cache "$CACHE" --target cpu "${EXTRA[@]:0:2}" || exit 5
fi

# Every target the bundle holds, the first (sm_80) first: it is the e2e target.
targs=()
for t in $TARGETS; do
  case $t in cuda:sm_90|cuda:sm_90a) continue;; esac   # rejected by IREE 3.13's compiler: nothing to load
  targs+=(--target "$t")
done
stamp "suite: ${targs[*]}"
"$PY" bench/gpu_report.py --suite "$SUITE" --cache "$CACHE" "${targs[@]}" "${DEVICE_ARGS[@]}" --out "$DEST" \
  --budget-s "${BUDGET_S:-300}" --e2e "${EXTRA[@]}"
rc=$?

stamp "boo-driver ${DEVICE_ARGS[*]:---target cpu}"
line="conv -n 2 -c 4 -H 8 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 0 -t 1 -i 5"
if [ "$CPU" = 1 ]; then dargs=(--target cpu); else dargs=(--device cuda); fi
"$PY" -m boo_shim.driver "${dargs[@]}" --cache-dir "$CACHE" --backend iree --backend torch --verbose $line \
  > "$DEST/driver.txt" 2>&1
drc=$?
cat "$DEST/driver.txt"
if [ "$CPU" = 0 ]; then
  "$PY" -m boo_shim.driver --device cuda --timing kernels --cache-dir "$CACHE" --backend iree --backend torch \
    $line > "$DEST/driver_kernels.txt" 2>&1 || drc=1
  cat "$DEST/driver_kernels.txt"
fi

stamp "done: suite+e2e rc=$rc, driver rc=$drc; report $DEST/report.md"
[ "$rc" = 0 ] && [ "$drc" = 0 ]
