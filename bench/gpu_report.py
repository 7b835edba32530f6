#!/usr/bin/env python3
"""boo (IREE) vs torch (cuDNN) on one GPU, verified, as one markdown report; then the daemon
and the shim end to end on the same device.

Built for a GPU machine lent for minutes, with no IREE compiler and no network: every kernel
comes from a cache compiled elsewhere (`scripts/gpu_bundle.sh`, which also calls `--write-suite`
and `--precompile` here). On `--target cpu` the same code runs end to end on any machine
(torch on the CPU, host clock), which is how it is tested without a GPU.

    gpu_report.py --write-suite FILE [--per-direction 8]          # pick the suite (needs ../shared)
    gpu_report.py --precompile --suite FILE --cache DIR --target cuda:sm_80 --target cuda:sm_89 ...
    gpu_report.py --suite FILE --cache DIR --target cuda:sm_80 [--target ...] --out DIR [--e2e]

The suite: per direction, real MIOpenDriver lines from ../shared/signatures: bf16 NHWC/NDHWC
(iree-turbine's samples), fp32 and fp16 NCHW (MIOpen's perf models), and one fp32 line of the
perf models put in NHWC (the shapes are real, the layout is ours: the real NHWC lines are bf16
only). Batches are cut so one conv is about `--max-flops` (whole images only).

Clocks (see boo_shim/driver.py): on a GPU, `events` (CUDA events on torch's stream around each
call; for IREE that brackets the whole synchronous call) and `kernels` (CUPTI's device time of
the call's GPU activity, the same clock for both backends); the ratio boo/cuDNN uses `kernels`
where it was read, else `events`. On the CPU, the host clock.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from boo_shim.conv import ConvSignature, Mode  # noqa: E402
from boo_shim.driver import time_calls, torch_device  # noqa: E402
from boo_shim.errors import BooError  # noqa: E402
from boo_shim.grammar import parse_command, parse_commands_file  # noqa: E402
from boo_shim.numerics import TOLERANCES, miopen_error, reference  # noqa: E402

SIGS_DIR = Path(os.environ.get("BOO_SIGNATURES_DIR") or REPO.parent / "shared" / "signatures")
GPU_FLOPS = 4.0e9  # ~10-100 us on an H200; the float64 host reference stays well under a second

# The daemon and shim stage's lines: both layouts, fp32 and bf16, all three directions. They are
# precompiled into the bundle with the suite (`--precompile` adds them).
E2E_LINES = [
    "conv -n 2 -c 4 -H 8 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 0",
    "convbfp16 -n 2 -c 8 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 0 --in_layout NHWC --out_layout NHWC "
    "--fil_layout NHWC",
]


# ---------------------------------------------------------------------------------- the suite
def scale_batch(sig: ConvSignature, max_flops: float) -> ConvSignature:
    d = sig.as_dict()
    n_idx = sig.input_layout.index("N")
    batch = sig.input_shape[n_idx]
    new_batch = max(1, min(batch, int(max_flops // max(1.0, sig.flops / batch))))
    d["input_shape"] = list(sig.input_shape)
    d["input_shape"][n_idx] = new_batch
    return ConvSignature.from_dict(d)


def _relayout_nhwc(sig: ConvSignature) -> ConvSignature:
    """The same conv with channels-last tensors (2D NCHW -> NHWC)."""
    d = sig.as_dict()
    perm = [sig.input_layout.index(c) for c in "NHWC"]
    d["input_shape"] = [sig.input_shape[i] for i in perm]
    # Kernel: the same letters as the input's channels-last order with the output channels first.
    k_src = sig.kernel_layout
    k_dst = k_src[0] + "HWC" if len(k_src) == 4 else k_src
    d["kernel_shape"] = [sig.kernel_shape[k_src.index(c)] for c in k_dst]
    for key, val in (("input_layout", "NHWC"), ("kernel_layout", k_dst), ("output_layout", "NHWC"),
                     ("shared_layout", None)):
        if key in d:
            d[key] = val
    return ConvSignature.from_dict(d)


def build_suite(per_direction: int, max_flops: float) -> list[ConvSignature]:
    from bench.cpu_vs_torch import _pick  # feature-covering greedy pick, shared with the CPU bench

    def pool(files, relayout=False):
        out, seen = [], set()
        for f in files:
            for _, text in parse_commands_file(str(f)):
                for sig in parse_command(text).signatures:
                    s = scale_batch(_relayout_nhwc(sig) if relayout else sig, max_flops)
                    if s not in seen:
                        seen.add(s)
                        out.append(s)
        return out

    perf = SIGS_DIR / "miopen_perf_models"
    sources = [  # (pool, share of each direction's lines)
        (pool([SIGS_DIR / "boo_sample_commands.txt"]), 3),
        (pool(sorted(perf.glob("*FP32*.txt"))), 2),
        (pool(sorted(perf.glob("*FP16*.txt"))), 2),
        (pool(sorted(perf.glob("*FP32*.txt"))[:1], relayout=True), 1),
    ]
    total_share = sum(n for _, n in sources)
    suite: list[ConvSignature] = []
    for mode in Mode:
        for i, (p, share) in enumerate(sources):
            n = share * per_direction // total_share + (1 if i < (share * per_direction) % total_share else 0)
            suite += [s for s in _pick([s for s in p if s.mode is mode], n) if s not in suite]
    return suite


def read_suite(path: str, max_flops: float | None) -> list[ConvSignature]:
    sigs = []
    for _, text in parse_commands_file(path):
        for sig in parse_command(text).signatures:
            sigs.append(scale_batch(sig, max_flops) if max_flops else sig)
    return sigs


def e2e_signatures() -> list[ConvSignature]:
    return [s for line in E2E_LINES for s in parse_command(line).signatures]


# ------------------------------------------------------------------------------- precompile
def precompile(sigs: list[ConvSignature], targets: list[str], cache: str, log) -> list[dict]:
    """Compile every signature for every target into `cache`; a target the compiler rejects
    (sm_90 on IREE 3.13) is recorded, not fatal: the device run shows which ones load."""
    from boo_shim.compile import compile_signature

    rows = []
    for target in targets:
        ok = failed = 0
        t0 = time.perf_counter()
        first_error = ""
        for sig in sigs:
            if failed >= 2 and ok == 0:
                # The compiler rejects the target itself (IREE 3.13: "missing GPU target" for
                # sm_90): the rest would fail alike, each costing an exporter run.
                first_error = f"target rejected after {failed} failures; {first_error}"
                break
            try:
                compile_signature(sig, target, cache=cache)
                ok += 1
            except BooError as e:
                failed += 1
                first_error = first_error or f"{sig.func_name}: {str(e)[:300]}"
        rows.append(dict(target=target, ok=ok, failed=failed, seconds=round(time.perf_counter() - t0, 1),
                         first_error=first_error))
        log(f"[precompile] {target}: {ok} compiled, {failed} failed in {rows[-1]['seconds']} s"
            + (f"; first error: {first_error}" if first_error else ""))
    return rows


# ------------------------------------------------------------------------------------ the run
def geomean(xs):
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def _time(fn, clocks: list[str], iters: int, warmup: int) -> dict:
    out = {}
    for clock in clocks:
        try:
            out[clock] = time_calls(fn, iters, warmup, clock).mean / 1e3  # ms
        except Exception as e:  # noqa: BLE001 - a clock that cannot be read is reported, not fatal
            out[clock] = None
            out[clock + "_error"] = f"{type(e).__name__}: {e}"[:200]
    return out


def _verdict(sig: ConvSignature, result: torch.Tensor, ref: torch.Tensor) -> str:
    err = miopen_error(result.detach().cpu(), ref)
    return ("OK" if err <= TOLERANCES[sig.dtype] else "FAIL") + f" {err:.2g}"


def run_suite(sigs, targets, cache, iters, warmup, deadline, log) -> tuple[list[dict], dict]:
    from boo_shim.runtime import LoadedKernels

    loaded = LoadedKernels()
    where = torch_device(targets[0])
    clocks = ["events", "kernels"] if where.type == "cuda" else ["host"]
    rows = []
    torch_cache: dict = {}
    for ti, target in enumerate(targets):
        for i, sig in enumerate(sigs, 1):
            row = dict(target=target, n=i, direction=sig.mode.value, dtype=str(sig.dtype).removeprefix("torch."),
                       layout=sig.input_layout, gflop=sig.flops / 1e9, command=sig.to_command())
            rows.append(row)
            if time.monotonic() > deadline:
                row["boo_error"] = "skipped: time budget spent"
                continue
            host_args = sig.get_sample_conv_args(seed=0)
            args = tuple(a.to(where) for a in host_args)
            if sig not in torch_cache:
                ref = reference(sig, host_args)
                module = sig.get_nn_module().to(where)
                with torch.no_grad():
                    t_res = module(*args)
                    t_times = _time(lambda: module(*args), clocks, iters, warmup)
                torch_cache[sig] = (ref, t_times, _verdict(sig, t_res, ref))
            ref, t_times, t_verify = torch_cache[sig]
            row.update({f"torch_{k}": v for k, v in t_times.items()}, torch_verify=t_verify)
            try:
                t0 = time.perf_counter()
                kernel = loaded.get(sig, target, cache_dir=cache)
                row["load_s"] = time.perf_counter() - t0
                row["strategy"] = kernel.compiled.strategy
                row["cache_hit"] = kernel.compiled.cache_hit
                # DLPack on every device: no copies on the GPU, and the same path on the CPU.
                call = lambda: kernel.run_dlpack(*args)  # noqa: E731
                result = call()
                row["boo_verify"] = _verdict(sig, result, ref)
                row.update({f"boo_{k}": v for k, v in _time(call, clocks, iters, warmup).items()})
            except Exception as e:  # noqa: BLE001 - one signature's failure is a row, not the end
                row["boo_error"] = f"{type(e).__name__}: {e}"[:300]
            clock = next((c for c in clocks if row.get(f"boo_{c}") and row.get(f"torch_{c}")), None)
            row["clock"] = clock
            row["ratio"] = row[f"boo_{clock}"] / row[f"torch_{clock}"] if clock else None
            log(f"{target} {i:>2}/{len(sigs)} {row['direction']:<3} {row['dtype']:<8} {row['layout']:<5} "
                f"boo {_fmt(row.get('boo_' + (clock or clocks[0])))} ms  torch {_fmt(row.get('torch_' + (clock or clocks[0])))} ms  "
                f"ratio {_fmt(row['ratio'], 2)}  boo {row.get('boo_verify') or row.get('boo_error')}  "
                f"torch {row['torch_verify']}")
    env = dict(device=(torch.cuda.get_device_name() if where.type == "cuda" else platform.processor() or "cpu"),
               torch=torch.__version__, python=platform.python_version(), clocks=clocks)
    return rows, env


def _fmt(x, digits=3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def write_report(path: Path, rows: list[dict], env: dict, extra: list[str]) -> None:
    lines = [f"# boo vs torch on {env['device']}", "",
             f"{time.strftime('%Y-%m-%d %H:%M')}, torch {env['torch']}, Python {env['python']}, "
             f"clocks {', '.join(env['clocks'])} (`bench/gpu_report.py`; the ratio uses the first clock "
             "read for both sides, per row: `kernels` = CUPTI device time, `events` = CUDA events "
             "around the call, `host` = perf_counter).", ""]
    for target in dict.fromkeys(r["target"] for r in rows):
        rs = [r for r in rows if r["target"] == target]
        lines += [f"## {target}", "",
                  "| # | dir | dtype | layout | GFLOP | boo ms | cuDNN/torch ms | boo/torch | clock | boo verify | torch verify | boo events ms | torch events ms | command |",
                  "|--:|---|---|---|--:|--:|--:|--:|---|---|---|--:|--:|---|"]
        for r in rs:
            c = r.get("clock")
            bv = r.get("boo_verify") or ("ERROR: " + r.get("boo_error", "?").replace("|", "/")[:120])
            lines.append(f"| {r['n']} | {r['direction']} | {r['dtype']} | {r['layout']} | {r['gflop']:.2f} "
                         f"| {_fmt(r.get('boo_' + c) if c else None)} | {_fmt(r.get('torch_' + c) if c else None)} "
                         f"| {_fmt(r.get('ratio'), 2)} | {c or '-'} | {bv} | {r.get('torch_verify', '-')} "
                         f"| {_fmt(r.get('boo_events'))} | {_fmt(r.get('torch_events'))} | `{r['command']}` |")
        lines += ["", "| direction | geomean boo/torch | rows with a ratio | boo verified |", "|---|--:|--:|--:|"]
        for mode in Mode:
            m = [r for r in rs if r["direction"] == mode.value]
            ok = sum(1 for r in m if str(r.get("boo_verify", "")).startswith("OK"))
            lines.append(f"| {mode.value} | {_fmt(geomean([r.get('ratio') for r in m]), 2)} "
                         f"| {sum(1 for r in m if r.get('ratio'))} | {ok}/{len(m)} |")
        errors = sorted({r['boo_error'] for r in rs if r.get('boo_error')})
        if errors:
            lines += ["", "Errors:", *[f"- {e}" for e in errors[:10]]]
        lines.append("")
    lines += extra
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------- daemon and shim, e2e
def run_e2e(target: str, cache: str, device: str | None, log) -> tuple[bool, list[str]]:
    """The daemon on `target` (host tensors copied in and out by it), then a MIOpen program
    under the shim talking to that daemon; each result against float64. Counts what the daemon
    had to compile (0 expected: everything comes from the bundle)."""
    from boo_shim.cache import KernelCache
    from boo_shim.client import BooClient

    lines = ["## Daemon and shim, end to end", ""]
    ok = True
    before = len(KernelCache(cache).entries())
    work = Path(tempfile.mkdtemp(prefix="boo-e2e-", dir="/tmp"))  # ipc paths must stay short
    endpoint = f"ipc://{work}/d.sock"
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    cmd = [sys.executable, "-m", "boo_daemon.cli", "start", "--endpoint", endpoint, "--cache-dir", cache,
           "--target", target, "--wait", "120", "--log-file", str(work / "daemon.log")]
    if device:
        cmd += ["--device", device]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        lines.append(f"- daemon: FAILED to start: {(p.stderr or p.stdout).strip()[-400:]}")
        return False, lines
    try:
        client = BooClient(endpoint, autostart=False)
        for sig in e2e_signatures():
            args = sig.get_sample_conv_args(seed=1)
            try:
                res = client.run(sig, *args)
                from boo_shim.runtime import to_torch

                v = _verdict(sig, to_torch(np.asarray(res)), reference(sig, args))
            except Exception as e:  # noqa: BLE001
                v = f"ERROR {type(e).__name__}: {e}"[:300]
            ok &= v.startswith("OK")
            lines.append(f"- daemon `{sig.to_command()}`: {v}")
            log(f"[e2e] daemon {sig.func_name}: {v}")
        client.close()
        ok &= _shim_e2e(endpoint, work, lines, log)
    finally:
        subprocess.run([sys.executable, "-m", "boo_daemon.cli", "stop", "--endpoint", endpoint],
                       env=env, capture_output=True)
    compiled = len(KernelCache(cache).entries()) - before
    ok &= compiled == 0  # else the bundle lacks a kernel the daemon or the shim asked for
    lines.append(f"- cache entries added during this stage: {compiled} (0 when the bundle held every kernel)")
    log_tail = (work / "daemon.log").read_text()[-1500:] if (work / "daemon.log").exists() else ""
    if not ok and log_tail:
        lines += ["", "Daemon log (tail):", "```", log_tail, "```"]
    return ok, lines


def _shim_e2e(endpoint: str, work: Path, lines: list[str], log) -> bool:
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        lines.append("- shim: SKIPPED (no cmake or C compiler here)")
        return False
    build = work / "native"
    steps = [["cmake", "-S", str(REPO), "-B", str(build), f"-DBOO_PYTHON={sys.executable}",
              "-DCMAKE_BUILD_TYPE=Release"], ["cmake", "--build", str(build), "-j8"]]
    for step in steps:
        p = subprocess.run(step, capture_output=True, text=True)
        if p.returncode != 0:
            lines.append(f"- shim: build FAILED: `{' '.join(step[:2])}`: {(p.stderr or p.stdout).strip()[-600:]}")
            return False
    shim, app = build / "lib" / "libboo_miopen_shim.so", build / "bin" / "conv_app"
    if not shim.exists():
        lines.append("- shim: build FAILED: no libboo_miopen_shim.so (cffi or Python headers missing?)")
        return False
    ok = True
    base = {k: v for k, v in os.environ.items() if not k.startswith("BOO_") and k != "LD_PRELOAD"}
    base["BOO_COMPILER_VERSION"] = os.environ.get("BOO_COMPILER_VERSION", "")
    for j, line in enumerate(E2E_LINES):
        ref_dir, shim_dir = work / f"ref{j}", work / f"shim{j}"
        p_ref = subprocess.run([str(app), "--out", str(ref_dir), *line.split()], env=base,
                               capture_output=True, text=True, timeout=240)
        env = dict(base, LD_PRELOAD=str(shim), BOO_ENDPOINT=endpoint, BOO_FALLBACK="error")
        p = subprocess.run([str(app), "--out", str(shim_dir), *line.split()], env=env,
                           capture_output=True, text=True, timeout=240)
        if p_ref.returncode or p.returncode:
            lines.append(f"- shim `{line}`: FAILED (reference rc {p_ref.returncode}, shim rc {p.returncode}): "
                         f"{(p.stderr or p_ref.stderr).strip()[-400:]}")
            ok = False
            continue
        errs = _compare_dirs(ref_dir, shim_dir, ["y", "dx", "dw"])
        tol = 2e-2 if "bfp16" in line else 1e-5
        good = all(e <= tol for e in errs.values())
        ok &= good
        lines.append(f"- shim `{line}`: {'OK' if good else 'FAIL'} "
                     + ", ".join(f"{k} {v:.2g}" for k, v in errs.items()) + f" (tolerance {tol:g})")
        log(f"[e2e] shim {line}: {'OK' if good else 'FAIL'} {errs}")
    return ok


def _compare_dirs(a: Path, b: Path, names) -> dict:
    import ml_dtypes

    out = {}
    for name in names:
        meta = json.loads((a / "meta.json").read_text())[name + ".bin"]
        dt = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}[meta["dtype"]]
        x = np.fromfile(a / f"{name}.bin", dtype=dt).astype(np.float64)
        y = np.fromfile(b / f"{name}.bin", dtype=dt).astype(np.float64)
        out[name] = miopen_error(torch.from_numpy(y), torch.from_numpy(x))
    return out


# -------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-suite", metavar="FILE", help="pick the suite from ../shared/signatures and write it")
    ap.add_argument("--per-direction", type=int, default=8)
    ap.add_argument("--suite", metavar="FILE", help="MIOpenDriver lines to run (written by --write-suite)")
    ap.add_argument("--max-flops", type=float, default=None,
                    help=f"cut batches to about this many FLOP per conv (--write-suite: default {GPU_FLOPS:g})")
    ap.add_argument("--precompile", action="store_true", help="compile the suite and the e2e lines into --cache")
    ap.add_argument("--target", action="append", default=[], help="repeatable; the first is the e2e target")
    ap.add_argument("--device", default=None, help="IREE device URI for the daemon (default: the target's)")
    ap.add_argument("--cache", required=False, help="kernel cache directory")
    ap.add_argument("--out", help="output folder: report.md, results.json")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--budget-s", type=float, default=300.0, help="stop timing new rows after this many seconds")
    ap.add_argument("--e2e", action="store_true", help="then the daemon and the shim on the first target")
    args = ap.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731

    if args.write_suite:
        if not SIGS_DIR.exists():
            print(f"no signatures at {SIGS_DIR} (set BOO_SIGNATURES_DIR)", file=sys.stderr)
            return 2
        suite = build_suite(args.per_direction, args.max_flops or GPU_FLOPS)
        Path(args.write_suite).write_text(
            f"# bench/gpu_report.py --write-suite: {len(suite)} signatures from {SIGS_DIR.name}/, "
            f"batches cut to ~{args.max_flops or GPU_FLOPS:g} FLOP\n" + "".join(s.to_command() + "\n" for s in suite))
        log(f"wrote {len(suite)} signatures to {args.write_suite}")
        return 0
    if not (args.suite and args.cache and args.target):
        ap.error("--suite, --cache and --target are needed")
    sigs = read_suite(args.suite, args.max_flops)
    if args.precompile:
        rows = precompile(sigs + e2e_signatures(), args.target, args.cache, log)
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            Path(args.out, "precompile.json").write_text(json.dumps(rows, indent=1))
        return 0 if rows and rows[0]["failed"] == 0 else 1
    out = Path(args.out or "out/gpu_report")
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget_s
    rows, env = run_suite(sigs, args.target, args.cache, args.iters, args.warmup, deadline, log)
    extra, e2e_ok = [], True
    if args.e2e:
        e2e_ok, extra = run_e2e(args.target[0], args.cache, args.device, log)
    write_report(out / "report.md", rows, env, extra)
    (out / "results.json").write_text(json.dumps(dict(env=env, rows=rows, e2e_ok=e2e_ok), indent=1, default=str))
    first = [r for r in rows if r["target"] == args.target[0]]
    verified = sum(1 for r in first if str(r.get("boo_verify", "")).startswith("OK"))
    log(f"{args.target[0]}: boo verified {verified}/{len(first)}; e2e {'OK' if e2e_ok else 'FAILED'}; "
        f"report: {out / 'report.md'}")
    return 0 if verified == len(first) and e2e_ok else 1


if __name__ == "__main__":
    sys.exit(main())
