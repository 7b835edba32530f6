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
  --csv "$out/driver.csv" -i 10 || echo "(boo-driver: some commands failed; see the lines above)"
echo "results: $out/driver.csv   kernels: $BOO_CACHE_DIR"

echo "== 3. an unmodified MIOpen program: reference libMIOpen.so.1 vs the boo shim (LD_PRELOAD) + daemon"
cmake -S "$root" -B "$out/build" -DBOO_PYTHON="$bin/python" >/dev/null
cmake --build "$out/build" --target conv_app -j 2 >/dev/null
app="$out/build/bin/conv_app"
mkdir -p "$out/app"
export BOO_ENDPOINT="ipc://$out/daemon.sock"
"$bin/boo-daemon" start --endpoint "$BOO_ENDPOINT" --cache-dir "$BOO_CACHE_DIR"
trap '"$bin/boo-daemon" stop --endpoint "$BOO_ENDPOINT" >/dev/null 2>&1 || true' EXIT
i=0
while read -r line; do
  i=$((i + 1))
  echo "-- $line"
  echo "   reference library:"
  "$app" --out "$out/app/ref$i" $line | sed 's/^/    /'
  echo "   boo shim (BOO_COMPARE=1 logs boo vs native time and error):"
  BOO_COMPARE=1 "$bin/boo-run" --no-daemon-start -- "$app" --out "$out/app/boo$i" $line 2>&1 | sed 's/^/    /'
  "$bin/python" "$root/scripts/compare_app_outputs.py" "$out/app/ref$i" "$out/app/boo$i"
done <<'LINES'
conv -n 2 -c 64 -H 28 -W 28 -k 64 -y 3 -x 3 -p 1 -q 1 -F 0
convbfp16 -n 2 -c 96 -H 24 -W 16 -k 128 -y 1 -x 1 -F 0 --in_layout NHWC --fil_layout NHWC --out_layout NHWC
conv -n 2 -c 32 -H 14 -W 14 -k 64 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -g 2 -F 1
LINES
"$bin/boo-daemon" status --endpoint "$BOO_ENDPOINT"
