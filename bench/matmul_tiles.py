#!/usr/bin/env python3
"""IREE's default matmul tiles vs `lowering.matmul.matmul_tiles` vs torch.mm, f32, on this CPU.

A narrow odd N is timed as the fast path runs it: padded with zero columns (`padded_width`).

The shapes are the matmuls behind the 1x1 convolutions of bench/cpu_vs_torch.py (M = N*H*W,
N = output channels, K = input channels). Each IREE variant is compiled on its own and timed
with iree-benchmark-module (median of 5 repetitions); torch.mm is the best of 3 blocks.

    .venv/bin/python bench/matmul_tiles.py [MxNxK ...]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from boo_shim.lowering.matmul import matmul_tiles, padded_width  # noqa: E402
from boo_shim.targets import parse_target  # noqa: E402

BIN = Path(sys.executable).parent
SHAPES = ["2304x384x128", "1152x384x384", "6076x32x512", "784x256x528", "2499x832x48",
          "735x832x160", "637x832x192", "1372x144x512", "81408x35x35"]


def module(M: int, N: int, K: int, tiles: str) -> str:
    a, b, c = f"tensor<{M}x{K}xf32>", f"tensor<{K}x{N}xf32>", f"tensor<{M}x{N}xf32>"
    return (
        f"func.func @mm(%a: {a}, %b: {b}) -> {c} {{\n"
        f"  %z = arith.constant 0.0 : f32\n  %e = tensor.empty() : {c}\n"
        f"  %f = linalg.fill ins(%z : f32) outs(%e : {c}) -> {c}\n"
        f"  %r = linalg.matmul {tiles}ins(%a, %b : {a}, {b}) outs(%f : {c}) -> {c}\n"
        f"  return %r : {c}\n}}\n"
    )


def iree_ms(M: int, N: int, K: int, tiles: str, work: Path) -> float:
    src, vmfb = work / "mm.mlir", work / "mm.vmfb"
    src.write_text(module(M, N, K, tiles))
    flags = parse_target("cpu").compile_flags() + ["--iree-llvmcpu-enable-ukernels=all"]
    subprocess.run([str(BIN / "iree-compile"), str(src), "-o", str(vmfb), *flags], check=True)
    out = subprocess.run(
        [str(BIN / "iree-benchmark-module"), f"--module={vmfb}", "--device=local-task", "--function=mm",
         f"--input={M}x{K}xf32", f"--input={K}x{N}xf32", "--benchmark_repetitions=5", "--benchmark_min_time=0.2"],
        check=True, capture_output=True, text=True).stdout
    value, unit = re.search(r"real_time_median\s+([\d.]+) (ms|us)", out).groups()
    return float(value) * (1.0 if unit == "ms" else 1e-3)


def torch_ms(M: int, N: int, K: int) -> float:
    a, b = torch.randn(M, K), torch.randn(K, N)
    for _ in range(3):
        torch.mm(a, b)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(20):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - t0) / 20 * 1e3)
    return best


def main() -> int:
    shapes = sys.argv[1:] or SHAPES
    print(f"{'M x N x K':>16} {'torch ms':>9} {'IREE ms':>8} {'tiled ms':>9} {'gain':>5}  tiles")
    with tempfile.TemporaryDirectory() as tmp:
        for s in shapes:
            M, N, K = map(int, s.split("x"))
            Np = padded_width(N)
            tiles = matmul_tiles(M, Np, K)
            default = iree_ms(M, N, K, "", Path(tmp))
            tuned = iree_ms(M, Np, K, tiles, Path(tmp)) if tiles else default
            short = re.findall(r"\[([\d, ]+)\]", tiles)
            note = f" (N padded to {Np})" if Np != N else ""
            print(f"{s:>16} {torch_ms(M, N, K):9.3f} {default:8.3f} {tuned:9.3f} {default / tuned:5.2f}  "
                  f"{' / '.join(short) if short else '(IREE default)'}{note}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
