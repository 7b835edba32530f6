"""Matmuls with llvm-cpu tile configurations, and the rules that choose the tiles.

bench/matmul_tiles.py measures these rules against IREE's own choice and torch.mm;
docs/cpu_performance.md has the figures.
"""

from __future__ import annotations

from .ir import IRBuilder, TensorValue, csv

# IREE's llvm-cpu refuses vector ops of 32 KiB or more ("One or more operations with large
# vector sizes (32768 bytes)"), so a tile's iteration space must stay *below* 8192 f32s: 8x16x64
# and 8x32x32 tiles failed to compile (bench/compile_sweep.py, docs/compile_sweep.md).
VECTOR_ELEMS = 8192


def matmul_tiles(M: int, N: int, K: int, batch: bool = False) -> str:
    """A `compilation_info` for an f32 (batch) matmul MxNxK, or "" to keep IREE's choice.

    IREE's default on AVX-512 is an 8x16 register tile with a 16-deep reduction step. An 8x32
    tile (16 accumulators, two loads of B per broadcast of A) ran 1.2-1.6x faster on the suite's
    1x1 shapes, and a short K (<= 64) done in one step ~2x faster (2499x832x48: 3.1 -> 1.4 ms);
    bench/matmul_tiles.py measures it. Every tile divides its dimension: a remainder disables
    IREE's peeling for user-set configs and ran 2x slower.
    """
    def largest(n, cands):
        return next(c for c in cands if n % c == 0)

    def divisor(n, step, cap):  # the largest multiple of `step` <= cap dividing n
        return max([d for d in range(step, min(n, cap) + 1, step) if n % d == 0], default=step)

    if N % 32 and not (N % 16 == 0 and K <= 64):
        return ""  # no measured gain over IREE's own choice (35 columns: 1.25x slower)
    vm = largest(M, (8, 7, 6, 5, 4, 3, 2, 1))
    vn = 32 if N % 32 == 0 else 16
    budget = (VECTOR_ELEMS - 1) // (vm * vn)
    r = K if K <= min(budget, 64) else max(d for d in range(1, min(16, budget) + 1) if K % d == 0)
    dist, vec, red = [divisor(M, vm, 64), divisor(N, vn, 128), 0], [vm, vn, 0], [0, 0, r]
    if batch:
        dist, vec, red = [1] + dist, [1] + vec, [0] + red
    return (
        "{compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
        f"distribution = [{csv(dist)}], vector_common_parallel = [{csv(vec)}], vector_reduction = [{csv(red)}]>, "
        "translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} "
    )


def padded_width(n: int) -> int:
    """`n` columns rounded up to a multiple of 16 when narrow and odd (see `tiled_matmul`)."""
    return -(-n // 16) * 16 if n % 16 and n < 64 else n


def tiled_matmul(b: IRBuilder, a: TensorValue, w: TensorValue, acc_elt: str) -> TensorValue:
    """a[m, r] @ w[r, f] -> [m, f] (acc_elt), with `matmul_tiles` when f32.

    A narrow odd f (< 64, not a multiple of 16) is padded with zero filter columns to the next
    multiple of 16 and the result sliced back: IREE's own choice for 81408x35x35 (an 8x7
    register tile) ran 2.9 ms, the same matmul 35 wide padded to 48 with tiles 1.2 ms.
    """
    M, R, N = a.size("m"), a.size("r"), w.size("f")
    f32 = b.options.cpu and acc_elt == "f32" and a.elt == "f32" and w.elt == "f32"
    Np = padded_width(N) if f32 else N
    if Np != N:
        w = b.barrier(b.pad(w, {}, {"f": Np - N}))
    acc = b.zeros([M, Np], acc_elt, ["m", "f"])
    out = TensorValue(b.fresh("mm"), acc.shape, acc_elt, acc.labels)
    tiles = matmul_tiles(M, Np, R) if f32 else ""
    b.emit(
        f"{out.name} = linalg.matmul {tiles}ins({a.name}, {w.name} : {a.type}, {w.type}) "
        f"outs({acc.name} : {acc.type}) -> {out.type}"
    )
    return b.slice(out, {}, {"f": N})
