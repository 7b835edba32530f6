"""Probe boo_shim.lowering against torch on CPU.

For a diverse set of signatures drawn from the shared command files (batch scaled down so one
torch call takes ~1-50 ms), prints torch ms, boo ms (emit_mlir compiled for llvm-cpu/host, run
with iree.runtime local-task), boo/torch, compile seconds, the strategy and the numeric error vs
float64; then the geometric mean of boo/torch per direction and the compile-time p50.

    .venv/bin/python bench/lowering_probe.py [--limit 40] [--flags "--iree-..."] [--reps 15]
"""

from __future__ import annotations

import argparse
import glob
import math
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boo_shim import lowering  # noqa: E402
from boo_shim.conv import ConvSignature, Mode  # noqa: E402
from boo_shim.errors import BooError  # noqa: E402
from boo_shim.grammar import parse_command, parse_commands_file  # noqa: E402

SIG_DIR = Path("/work/shared/signatures")
BASE_FLAGS = ["--iree-llvmcpu-target-cpu=host"]


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.contiguous().numpy()


def _metric(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    d = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if d == 0 else float(np.sqrt(np.mean((a - b) ** 2)) / d)


def _bucket(sig: ConvSignature) -> tuple:
    k = sig.canonical_kernel_shape[2:]
    kind = "1x1" if all(v == 1 for v in k) else ("3x3" if max(k) <= 3 else "5x5+")
    g = "dw" if sig.groups > 1 and sig.groups == sig.in_channels else ("grp" if sig.groups > 1 else "")
    return (sig.mode.value, str(sig.dtype), sig.input_layout, kind, max(sig.stride) > 1,
            max(sig.dilation) > 1, g, sig.num_spatial_dims, sig.transposed)


def _scaled(sig: ConvSignature, target_flops: float) -> ConvSignature:
    """Scale the batch (1..8) so the conv costs about target_flops."""
    per = sig.flops / sig.batch
    n = int(max(1, min(8, target_flops // max(per, 1))))
    d = sig.as_dict()
    li = sig.input_layout.index("N")
    shape = list(sig.input_shape)
    shape[li] = n
    d["input_shape"] = shape
    return ConvSignature.from_dict(d)


def collect(limit: int, target_flops: float, max_flops: float, dtypes=None) -> list[ConvSignature]:
    files = [SIG_DIR / "boo_sample_commands.txt"] + sorted(glob.glob(str(SIG_DIR / "miopen_perf_models/*.txt")))
    seen, buckets = set(), defaultdict(list)
    for f in files:
        for _, text in parse_commands_file(str(f)):
            try:
                sigs = parse_command(text).signatures
            except BooError:
                continue
            for s in sigs:
                try:
                    s = _scaled(s, target_flops)
                except BooError:
                    continue
                if s in seen or s.flops > max_flops or (dtypes and s.dtype not in dtypes):
                    continue
                seen.add(s)
                buckets[_bucket(s)].append(s)
    # Round-robin over buckets (sorted for determinism) so every kind is represented.
    # Least significant first: direction, dtype, layout alternate from one pick to the next.
    keys = sorted(buckets, key=lambda k: (str(k[3:]), k[2], k[1], k[0]))
    out, i = [], 0
    while len(out) < limit and any(buckets[k] for k in keys):
        k = keys[i % len(keys)]
        if buckets[k]:
            out.append(buckets[k].pop(len(buckets[k]) // 2))
        i += 1
    return out


def _median_ms(fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


def _interleaved_ms(f, g, reps: int, warmup: int = 2) -> tuple[float, float]:
    for _ in range(warmup):
        f()
        g()
    tf, tg = [], []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        tf.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        g()
        tg.append((time.perf_counter() - t) * 1e3)
    return statistics.median(tf), statistics.median(tg)


def probe(sig: ConvSignature, flags: list[str], reps: int, recommended: bool = True) -> dict:
    import iree.compiler as ic
    import iree.runtime as rt

    args = sig.get_sample_conv_args(seed=1)
    mod = sig.get_nn_module()
    strategy = lowering.choose_strategy(sig)
    text = lowering.emit_mlir(sig)
    t0 = time.perf_counter()
    flags = flags + (lowering.recommended_flags("llvm-cpu", sig) if recommended else [])
    vmfb = ic.compile_str(text, target_backends=["llvm-cpu"], extra_args=BASE_FLAGS + flags)
    compile_s = time.perf_counter() - t0
    config = rt.Config("local-task")
    ctx = rt.SystemContext(config=config)
    ctx.add_vm_module(rt.VmModule.copy_buffer(ctx.instance, vmfb))
    fn = ctx.modules.module[sig.func_name]
    dev_args = [rt.asdevicearray(config.device, _to_numpy(a)) for a in args]
    # Interleaved, so load from other processes on the machine hits both sides alike.
    with torch.no_grad():
        torch_ms, boo_ms = _interleaved_ms(lambda: mod(*args), lambda: fn(*dev_args), reps)
    out = np.asarray(fn(*dev_args).to_host())
    with torch.no_grad():
        ref = mod(*[a.to(torch.float64) for a in args]).numpy()
    return dict(torch_ms=torch_ms, boo_ms=boo_ms, compile_s=compile_s, strategy=strategy, err=_metric(out, ref))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--target-gflop", type=float, default=1.0, help="batch scaled towards this cost")
    p.add_argument("--max-gflop", type=float, default=4.0, help="skip signatures above this even at batch 1")
    p.add_argument("--flags", default="", help="extra iree-compile flags (space separated)")
    p.add_argument("--mode", choices=["fwd", "bwd", "wrw"], help="only this direction")
    p.add_argument("--match", help="only signatures whose func_name contains this")
    p.add_argument("--dtypes", default="fp32,bf16", help="dtypes to draw (torch's fp16 CPU path is very slow)")
    p.add_argument("--no-recommended", action="store_true", help="leave out lowering.recommended_flags")
    p.add_argument("-c", "--command", action="append", help="probe this command line (repeatable) instead")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    flags = args.flags.split()
    if args.command:
        sigs = [s for c in args.command for s in parse_command(c).signatures]
    else:
        from boo_shim.conv import parse_dtype

        dts = {parse_dtype(d) for d in args.dtypes.split(",")}
        sigs = collect(10 ** 6 if (args.mode or args.match) else args.limit, args.target_gflop * 1e9, args.max_gflop * 1e9, dts)
        if args.mode:
            sigs = [s for s in sigs if s.mode.value == args.mode]
        if args.match:
            sigs = [s for s in sigs if args.match in s.func_name]
        sigs = sigs[: args.limit]
    print(f"flags: {' '.join(BASE_FLAGS + flags)}" + ("" if args.no_recommended else " + lowering.recommended_flags(llvm-cpu, sig)"))
    print(f"{'#':>3} {'dir':3} {'torch ms':>9} {'boo ms':>9} {'ratio':>6} {'comp s':>6} {'err':>8}  strategy        command")
    ratios, compiles = defaultdict(list), []
    for i, sig in enumerate(sigs):
        cmd = sig.to_command().replace("MIOpenDriver ", "")
        try:
            r = probe(sig, flags, args.reps, not args.no_recommended)
        except Exception as e:  # report and go on
            print(f"{i:3d} {sig.mode.value:3} FAILED {type(e).__name__}: {str(e).splitlines()[0][:200]}  {cmd}")
            continue
        ratio = r["boo_ms"] / r["torch_ms"]
        ratios[sig.mode.value].append(ratio)
        compiles.append(r["compile_s"])
        print(f"{i:3d} {sig.mode.value:3} {r['torch_ms']:9.3f} {r['boo_ms']:9.3f} {ratio:6.2f} {r['compile_s']:6.2f} "
              f"{r['err']:8.1e}  {r['strategy']:15} {cmd}", flush=True)
    print()
    for mode in ("fwd", "bwd", "wrw"):
        v = ratios.get(mode)
        if v:
            gm = math.exp(sum(math.log(x) for x in v) / len(v))
            print(f"geomean boo/torch {mode}: {gm:.3f}  (n={len(v)})")
    allv = [x for v in ratios.values() for x in v]
    if allv:
        print(f"geomean boo/torch all: {math.exp(sum(math.log(x) for x in allv) / len(allv)):.3f}  (n={len(allv)})")
    if compiles:
        print(f"compile s: p50 {statistics.median(compiles):.3f}  max {max(compiles):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
