"""Per-call overhead of the MIOpen shim: program -> shim -> daemon -> back.

    .venv/bin/python bench/shim_overhead.py [--iters 2000] [--build DIR]

Measures, for a tiny cached conv (fp32 NCHW 1x4x8x8 * 4x4x3x3, pad 1, forward):
  1. shim:       native/tests/shim_bench.c (a plain MIOpen program) with LD_PRELOAD=the shim and a
                 boo daemon on a private ipc endpoint; per-call wall time of miopenConvolutionForward;
  2. in-process: the same signature via boo_shim.runtime.get_kernel(...).run(x, w) in this process;
  3. reference:  shim_bench against the reference libMIOpen.so.1 (direct loops; for scale only).
Prints p50/p99 in microseconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIG = dict(input_shape=[1, 4, 8, 8], kernel_shape=[4, 4, 3, 3], dtype="fp32", padding=1, mode="fwd")


def build(build_dir: Path) -> None:
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(build_dir), f"-DBOO_PYTHON={sys.executable}",
                    "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build_dir), "-j2"], check=True, capture_output=True)


def parse(line: str) -> dict:
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split())}


def in_process(iters: int, cache_dir: Path) -> dict:
    from boo_shim.conv import ConvSignature
    from boo_shim.runtime import get_kernel

    sig = ConvSignature(**SIG)
    k = get_kernel(sig, "cpu", cache_dir=cache_dir)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(sig.arg_shapes[0]).astype(np.float32)
    w = rng.standard_normal(sig.arg_shapes[1]).astype(np.float32)
    for _ in range(20):
        k.run(x, w)
    t = []
    for _ in range(iters):
        t0 = time.perf_counter()
        k.run(x, w)
        t.append((time.perf_counter() - t0) * 1e6)
    t.sort()
    return {"calls": iters, "p50_us": t[len(t) // 2], "p99_us": t[min(len(t) - 1, int(len(t) * 0.99))],
            "mean_us": sum(t) / len(t), "min_us": t[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--build", default=None, help="existing cmake build dir (default: build into a tmp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="boo-shim-bench-") as tmp:
        tmp = Path(tmp)
        bdir = Path(args.build) if args.build else tmp / "build"
        if not (bdir / "bin" / "shim_bench").exists():
            build(bdir)
        bench = bdir / "bin" / "shim_bench"
        shim = bdir / "lib" / "libboo_miopen_shim.so"
        endpoint = f"ipc://{tmp}/d.sock"
        cache = tmp / "cache"
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("BOO_")}
        subprocess.run([sys.executable, "-m", "boo_daemon.cli", "start", "--endpoint", endpoint, "--cache-dir",
                        str(cache), "--wait", "120"], check=True, env=env, capture_output=True)
        try:
            shim_env = dict(env, LD_PRELOAD=str(shim), BOO_ENDPOINT=endpoint, BOO_FALLBACK="error")
            out = subprocess.run([str(bench), str(args.iters), "50"], env=shim_env, capture_output=True, text=True,
                                 check=True).stdout
            r_shim = parse(out)
        finally:
            subprocess.run([sys.executable, "-m", "boo_daemon.cli", "stop", "--endpoint", endpoint], env=env,
                           capture_output=True)
        r_ref = parse(subprocess.run([str(bench), str(args.iters), "50"], env=env, capture_output=True, text=True,
                                     check=True).stdout)
        r_inproc = in_process(args.iters, cache)
    print(f"tiny conv: {SIG}")
    print(f"{'path':<34}{'p50 us':>10}{'p99 us':>10}{'mean us':>10}")
    for name, r in (("shim -> daemon (LD_PRELOAD)", r_shim), ("in-process get_kernel().run", r_inproc),
                    ("reference libMIOpen (C loops)", r_ref)):
        print(f"{name:<34}{r['p50_us']:>10.1f}{r['p99_us']:>10.1f}{r['mean_us']:>10.1f}")
    print(f"shim overhead over in-process (p50): {r_shim['p50_us'] - r_inproc['p50_us']:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
