#!/usr/bin/env bash
# The main job on the CPU default: set up, export the shipped sample signatures to MLIR, then run
# them through IREE and torch side by side with verification and timing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
bin="$root/.venv/bin"
out="$root/out"
mkdir -p "$out"
export BOO_CACHE_DIR="${BOO_CACHE_DIR:-$out/cache}"

echo "== 1. export the sample signatures to MLIR (boo-generate)"
"$bin/boo-generate" -f "$root/samples/sample_commands.txt" -o "$out/mlir" --pipeline torch-to-iree

echo "== 2. run them: IREE vs torch, verified against float64 (boo-driver)"
"$bin/boo-driver" --commands-file "$root/samples/sample_commands.txt" --backend iree --backend torch \
  --csv "$out/driver.csv" -i 10
echo "results: $out/driver.csv   kernels: $BOO_CACHE_DIR"
