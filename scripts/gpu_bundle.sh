#!/usr/bin/env bash
# Build here what the GPU machine needs and cannot make (no IREE compiler, no network there):
# cp312 wheels, the suite, and the cuda kernels compiled into a cache that travels.
#
#   scripts/gpu_bundle.sh [BUNDLE_DIR]        # default gpu_bundle/ (git-ignored; carry it)
#
# Targets: BOO_GPU_TARGETS (default "cuda:sm_80 cuda:sm_89 cuda:sm_90 cuda:sm_90a"). IREE 3.13
# rejects sm_90 and sm_90a ("missing GPU target"); they are tried so the bundle records that,
# and sm_80/sm_89 PTX is what the H200's driver JITs. docs/gpu.md has the whole procedure.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${1:-gpu_bundle}
PY=${PY:-.venv/bin/python}
TARGETS=${BOO_GPU_TARGETS:-"cuda:sm_80 cuda:sm_89 cuda:sm_90 cuda:sm_90a"}
LIMIT_MIB=${BOO_BUNDLE_LIMIT_MIB:-56}   # the device tool carries 64 MiB with the working tree
# A fresh cache each time: keys from older IR code would travel for nothing.
rm -rf "$BUNDLE/cache"
mkdir -p "$BUNDLE/wheels" "$BUNDLE/cache"

# 1. Wheels for the machine's Python 3.12, installed there --no-deps beside its own torch and
#    numpy (ml-dtypes, filelock, tqdm, prometheus-client are already there; these are not).
if [ -z "$(ls "$BUNDLE"/wheels/iree_base_runtime-*.whl 2>/dev/null)" ]; then
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$BUNDLE/wheels" \
    iree-base-runtime==3.13.0 pyzmq==27.3.0 cffi==2.1.1 pycparser==3.12
fi

# 2. The suite (from ../shared/signatures, which does not travel) and the kernels.
"$PY" bench/gpu_report.py --write-suite "$BUNDLE/suite.txt"
targs=(); for t in $TARGETS; do targs+=(--target "$t"); done
"$PY" bench/gpu_report.py --precompile --suite "$BUNDLE/suite.txt" --cache "$BUNDLE/cache" "${targs[@]}" \
  --out "$BUNDLE" || true   # a rejected target is recorded in precompile.json, not fatal

# 3. What the device needs to compute the same cache keys without the compiler.
{
  echo "export BOO_COMPILER_VERSION='$("$PY" -c 'from boo_shim.compile import compiler_version as v; print(v())')'"
  echo "export BOO_GPU_TARGETS='$TARGETS'"
  echo "export BOO_BUNDLE_COMMIT='$(git rev-parse --short HEAD)'"
  # The keys hash the IR-writing code: a tree that changed it since would miss every kernel.
  echo "export BOO_BUNDLE_IR_CODE='$("$PY" -c 'from boo_shim.compile import _ir_code_hash as h; print(h())')'"
} > "$BUNDLE/env.sh"

size_kib=$(du -sk "$BUNDLE" | cut -f1)
echo "bundle $BUNDLE: $((size_kib / 1024)) MiB ($(du -sk "$BUNDLE/wheels" | cut -f1) KiB wheels, $(du -sk "$BUNDLE/cache" | cut -f1) KiB cache)"
"$PY" - "$BUNDLE/precompile.json" <<'PYEOF'
import json, sys
for r in json.load(open(sys.argv[1])):
    print(f"  {r['target']}: {r['ok']} compiled, {r['failed']} failed ({r['seconds']} s) {r['first_error'][:160]}")
PYEOF
if [ "$size_kib" -gt $((LIMIT_MIB * 1024)) ]; then
  echo "gpu_bundle.sh: bundle is over ${LIMIT_MIB} MiB; it must travel with the tree in 64 MiB" >&2
  exit 1
fi
