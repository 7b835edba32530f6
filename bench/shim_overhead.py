"""Where a convolution call's time goes: program -> shim -> daemon -> program, and the paths
around it, measured side by side.

    .venv/bin/python bench/shim_overhead.py [--iters 2000] [--rounds 5] [--build DIR] [--markdown FILE]

Every path runs the same tiny cached conv (fp32 NCHW 1x4x8x8 * 4x4x3x3, pad 1, forward), in
`--rounds` interleaved rounds of `--iters` calls (so a noisy moment hits every path alike);
p50/p99 are over all calls of all rounds:

  bare zmq REQ/REP        two processes, 1-byte messages: the yardstick of the call-path issue
                          (the hot paths below do not use ZeroMQ: they take the call channel)
  python client -> daemon BooClient.run, tensors inline (a plan, then one binary frame a call on
                          the daemon's call channel)
  shim -> daemon          native/tests/shim_bench.c under LD_PRELOAD (BOO_EXECUTE=daemon): the C
                          hot path (native/shim/fast_call.c) serves every call after the first
  ... Python path         the same with BOO_SHIM_FAST=0: every call through the shim's Python
  ... fresh descriptors   C hot path, descriptors created/set/destroyed around every call (PyTorch)
  shim, local             the same program with BOO_EXECUTE=local (kernel in the program)
  in-process local-task   runtime kernel .run() on IREE's task device (worker threads)
  in-process local-sync   the same on the synchronous device (caller's thread)
  ... prepared            the same through a PreparedCall (argument list imported once): the floor
  reference libMIOpen     the C loops of native/reference, for scale

Then the shim -> daemon call through the Python path broken into stages, from BOO_SHIM_TRACE
lines (medians; tracing needs Python to see each call, so it turns the C path off):
C entry/exit (the program's wall time minus the Python side), lookup (descriptors ->
signature), views (numpy views of the caller's memory), encode, transport (send -> reply,
less the daemon's own time), daemon (receipt -> reply ready, less the kernel), kernel, decode,
copy-out. And the bandwidth of a large 1x1 conv through the shim (bytes in + out per second).
"""

from __future__ import annotations

import argparse
import json
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
# N C H W K of the bandwidth run, channels-last: 16 MiB in, 16 MiB out, little arithmetic (a
# 1x1 conv of 16 channels: 16 multiply-adds a value), a kernel IREE runs at memory speed
LARGE = (1, 16, 512, 512, 16)
LARGE_ENV = {"SHIM_BENCH_NHWC": "1"}

ZMQ_ECHO = r"""
import sys, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.REP); s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    m = s.recv()
    if m == b"q":
        s.send(b"q"); break
    s.send(m)
"""


def build(build_dir: Path) -> None:
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(build_dir), f"-DBOO_PYTHON={sys.executable}",
                    "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build_dir), "-j2"], check=True, capture_output=True)


def parse(line: str) -> dict:
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split())}


def summary(samples_us: list[float]) -> dict:
    a = np.asarray(samples_us)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "n": len(a)}


def timed(fn, iters: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e6)
    return out


class ProgramPath:
    """shim_bench runs: each gives p50 only, so a round contributes its per-call samples as the
    program's own p50/p99 (the program keeps the raw times to itself)."""

    def __init__(self, bench: Path, env: dict):
        self.bench, self.env = bench, env

    def run(self, iters: int, extra=()) -> dict:
        out = subprocess.run([str(self.bench), str(iters), "50", *map(str, extra)], env=self.env,
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"{self.bench} failed: {out.stderr.strip()[-500:]}")
        return parse(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default=None, help="existing cmake build dir (default: build into a tmp dir)")
    ap.add_argument("--markdown", default=None, help="also write the tables to this file")
    args = ap.parse_args()

    import zmq

    from boo_shim.client import BooClient
    from boo_shim.conv import ConvSignature
    from boo_shim.runtime import LOADED, aligned

    with tempfile.TemporaryDirectory(prefix="boo-shim-bench-", dir="/tmp") as tmp:
        tmp = Path(tmp)
        bdir = Path(args.build) if args.build else tmp / "build"
        print("building the shim and test programs ...", file=sys.stderr)
        build(bdir)  # incremental: an existing build dir is brought up to date
        bench, shim = bdir / "bin" / "shim_bench", bdir / "lib" / "libboo_miopen_shim.so"
        endpoint, cache = f"ipc://{tmp}/d.sock", tmp / "cache"
        trace = tmp / "trace.jsonl"
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("BOO_")}
        subprocess.run([sys.executable, "-m", "boo_daemon.cli", "start", "--endpoint", endpoint, "--cache-dir",
                        str(cache), "--wait", "120"], check=True, env=env, capture_output=True)
        echo = subprocess.Popen([sys.executable, "-c", ZMQ_ECHO, f"ipc://{tmp}/echo.sock"], stdout=subprocess.PIPE,
                                text=True)
        echo.stdout.readline()
        ctx = zmq.Context.instance()
        req = ctx.socket(zmq.REQ)
        req.connect(f"ipc://{tmp}/echo.sock")

        def zmq_round():
            req.send(b"x")
            req.recv()

        shim_env = dict(env, LD_PRELOAD=str(shim), BOO_ENDPOINT=endpoint, BOO_FALLBACK="error")
        paths_prog = {
            "shim -> daemon (C hot path)": ProgramPath(bench, dict(shim_env, BOO_EXECUTE="daemon")),
            "shim -> daemon, Python path (BOO_SHIM_FAST=0)": ProgramPath(
                bench, dict(shim_env, BOO_EXECUTE="daemon", BOO_SHIM_FAST="0")),
            "shim -> daemon, fresh descriptors every call": ProgramPath(
                bench, dict(shim_env, BOO_EXECUTE="daemon", SHIM_BENCH_FRESH_DESCRIPTORS="1")),
            "shim, local (BOO_EXECUTE=local)": ProgramPath(bench, dict(shim_env, BOO_EXECUTE="local")),
            "reference libMIOpen (C loops)": ProgramPath(bench, env),
        }
        sig = ConvSignature(**SIG)
        client = BooClient(endpoint)
        client.compile(sig)
        rng = np.random.default_rng(0)
        x = rng.standard_normal(sig.arg_shapes[0]).astype(np.float32)
        w = rng.standard_normal(sig.arg_shapes[1]).astype(np.float32)
        out = np.empty(sig.result_shape, np.float32)
        k_task = LOADED.get(sig, "cpu", cache_dir=cache)
        k_sync = LOADED.get(sig, "cpu", cache_dir=cache, device_uri="local-sync")
        paths_py = {
            "bare zmq REQ/REP (2 processes)": zmq_round,
            "python client -> daemon": lambda: client.run(sig, x, w, out=out),
            "in-process, local-task": lambda: k_task.run(x, w, out=out, check=False),
            "in-process, local-sync": lambda: k_sync.run(x, w, out=out, check=False),
            "in-process, local-sync, prepared": lambda: k_sync.prepared()(x, w, out=out),
        }
        samples: dict[str, list[float]] = {n: [] for n in paths_py}
        prog: dict[str, list[dict]] = {n: [] for n in paths_prog}
        try:
            for r in range(args.rounds):
                print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
                for name, fn in paths_py.items():
                    samples[name] += timed(fn, args.iters)
                for name, pp in paths_prog.items():
                    prog[name].append(pp.run(args.iters))
            # the stage breakdown: one traced run of the daemon path
            traced = ProgramPath(bench, dict(shim_env, BOO_EXECUTE="daemon", BOO_SHIM_TRACE=str(trace)))
            traced_total = traced.run(args.iters)
            large = ProgramPath(bench, dict(shim_env, BOO_EXECUTE="daemon", **LARGE_ENV)).run(20, LARGE)
            large_local = ProgramPath(bench, dict(shim_env, BOO_EXECUTE="local", **LARGE_ENV)).run(20, LARGE)
            n, c, h, w_, k = LARGE
            big = ConvSignature.from_command(f"conv -n {n} -c {c} -H {h} -W {w_} -k {k} -y 1 -x 1 -F 1 "
                                             "--in_layout NHWC --fil_layout NHWC --out_layout NHWC")
            kb = LOADED.get(big, "cpu", cache_dir=cache)
            bx = rng.standard_normal(big.arg_shapes[0]).astype(np.float32)
            bw = rng.standard_normal(big.arg_shapes[1]).astype(np.float32)
            big_inproc = float(np.median(timed(lambda: kb.run(bx, bw, check=False), 20, warmup=3)))
            by = aligned(np.empty(big.result_shape, np.float32))
            big_into = float(np.median(timed(lambda: kb.run(bx, bw, out=by, check=False), 20, warmup=3)))
            big_memcpy = float(np.median(timed(lambda: (np.copyto(by, bx), np.copyto(bx, by)), 20, warmup=3)))
        finally:
            subprocess.run([sys.executable, "-m", "boo_daemon.cli", "stop", "--endpoint", endpoint], env=env,
                           capture_output=True)
            req.send(b"q")
            req.recv()
            echo.wait(timeout=10)

        recs = [json.loads(ln) for ln in trace.read_text().splitlines()[50:]] if trace.exists() else []

    rows = [(name, summary(s)) for name, s in samples.items()]
    for name, runs in prog.items():
        rows.append((name, {"p50": float(np.median([r["p50_us"] for r in runs])),
                            "p99": float(np.median([r["p99_us"] for r in runs])), "n": sum(r["calls"] for r in runs)}))
    lines = [f"tiny conv {SIG}, {args.rounds} interleaved rounds x {args.iters} calls", "",
             "| path | p50 us | p99 us |", "|---|---:|---:|"]
    lines += [f"| {name} | {r['p50']:.1f} | {r['p99']:.1f} |" for name, r in rows]

    if recs:
        def med(key):
            vals = [r[key] for r in recs if key in r]
            return float(np.median(vals)) if vals else 0.0
        python_us, run_us = med("python_us"), med("run_us")
        transport, daemon, kernel = med("transport_us"), med("daemon_us"), med("kernel_us")
        enc, dec = med("encode_us"), med("decode_us")
        stages = [
            ("C entry/exit (cffi, GIL)", traced_total["p50_us"] - python_us),
            ("lookup (descriptors -> signature)", med("lookup_us")),
            ("views of the caller's memory", med("views_us")),
            ("encode (header + frames)", enc),
            ("transport (the call channel both ways)", transport - daemon),
            ("daemon dispatch (receipt -> reply, less kernel)", daemon - kernel),
            ("kernel (IREE invoke)", kernel),
            ("decode reply", dec),
            ("copy-out and the rest of the call", run_us - enc - transport - dec),
        ]
        lines += ["", f"shim -> daemon through the Python path, stage medians over {len(recs)} traced calls "
                      f"(program p50 {traced_total['p50_us']:.1f} us):", "",
                  "| stage | us |", "|---|---:|"]
        lines += [f"| {name} | {v:.1f} |" for name, v in stages]
    n, c, h, w_, k = LARGE
    nbytes = (n * c * h * w_ + n * k * h * w_) * 4
    lines += ["", f"large tensors through the shim (1x1 conv {n}x{c}x{h}x{w_} -> {k} channels, NHWC, "
                  f"{nbytes / 2**20:.0f} MiB in + out a call):", "",
              "| path | p50 ms | GB/s (in + out) |", "|---|---:|---:|",
              f"| shim -> daemon | {large['p50_us'] / 1e3:.2f} | {nbytes / large['p50_us'] / 1e3:.2f} |",
              f"| shim, local | {large_local['p50_us'] / 1e3:.2f} | {nbytes / large_local['p50_us'] / 1e3:.2f} |",
              f"| in-process kernel, fresh result buffer | {big_inproc / 1e3:.2f} | {nbytes / big_inproc / 1e3:.2f} |",
              f"| in-process kernel, writing into a buffer | {big_into / 1e3:.2f} | {nbytes / big_into / 1e3:.2f} |",
              f"| memcpy of the same bytes (16 MiB each way) | {big_memcpy / 1e3:.2f} | "
              f"{nbytes / big_memcpy / 1e3:.2f} |"]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
