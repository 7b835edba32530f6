"""`boo-driver`: MIOpenDriver's command line, run through IREE (and torch, side by side).

    boo-driver convbfp16 -n 16 -c 96 -H 48 -W 32 -k 288 -y 1 -x 1 -F 1 -t 1 --in_layout NHWC ...
    boo-driver --commands-file cmds.txt --backend iree --backend torch --csv out.csv -t 1

Timing (`-t 1`): `--iter N` calls after `--warmup` calls, each timed on the host with
`time.perf_counter()` around one synchronous call; IREE's local-task call returns only when the
result is ready, so the host interval covers the device work. GPU targets time device work
with events (see docs). Verification (`-V 1`, MIOpenDriver's default) compares with a float64
CPU reference using MIOpen's metric and per-dtype tolerances (`numerics.TOLERANCES`).
"""

from __future__ import annotations

import csv
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .conv import ConvSignature
from .errors import BooError
from .grammar import parse_command, parse_commands_file
from .numerics import Verdict, verify

__all__ = ["main", "run_command", "Timing"]

USAGE = """usage: boo-driver [boo options] conv|convfp16|convbfp16 [MIOpenDriver flags ...]
       boo-driver [boo options] --commands-file FILE [MIOpenDriver flags appended to every line]

boo options:
  --commands-file FILE   one MIOpenDriver command per line ('#' comments)
  --backend iree|torch   repeatable; default iree. torch is the native library (oneDNN on CPU)
  --target SPEC          cpu (default), cuda[:sm_80], rocm[:gfx942]
  --device URI           IREE device (default: the target's driver, e.g. local-task)
  --cache-dir DIR        kernel cache (default $BOO_CACHE_DIR or ~/.cache/boo)
  --strategy S           auto (default), fast, export
  --warmup N             untimed calls before timing (default 3)
  --csv FILE             one row per command and direction with each backend's figures
  --verbose              show cache hits and compile times
MIOpenDriver flags used here: -t 1 (time), -i/--iter N (timed calls, default 10), -V 0|1 (verify,
default 1), -F (directions). Other run flags are accepted and ignored.
"""

# boo's own options: (name, takes a value). Everything else belongs to the MIOpenDriver line.
_OPTIONS = {
    "--commands-file": True, "--backend": True, "--target": True, "--device": True,
    "--cache-dir": True, "--strategy": True, "--warmup": True, "--csv": True,
    "--verbose": False, "--help": False, "-h": False,
}


@dataclass
class Options:
    commands_file: str | None = None
    backends: list[str] = field(default_factory=list)
    target: str = "cpu"
    device: str | None = None
    cache_dir: str | None = None
    strategy: str = "auto"
    warmup: int = 3
    csv: str | None = None
    verbose: bool = False
    help: bool = False
    rest: list[str] = field(default_factory=list)


def _split_args(argv: list[str]) -> Options:
    opts = Options()
    i = 0
    while i < len(argv):
        tok = argv[i]
        name, eq, inline = tok.partition("=")
        if name in _OPTIONS:
            if _OPTIONS[name]:
                if eq:
                    value = inline
                    i += 1
                elif i + 1 < len(argv):
                    value = argv[i + 1]
                    i += 2
                else:
                    raise BooError(f"{name}: missing value")
            else:
                value, i = "", i + 1
            key = name.lstrip("-").replace("-", "_")
            if key == "backend":
                if value not in ("iree", "torch"):
                    raise BooError(f"--backend: expected iree or torch, got {value!r}")
                opts.backends.append(value)
            elif key in ("verbose", "help", "h"):
                setattr(opts, "help" if key == "h" else key, True)
            elif key == "warmup":
                opts.warmup = int(value)
            else:
                setattr(opts, key, value)
        else:
            opts.rest.append(tok)
            i += 1
    opts.backends = opts.backends or ["iree"]
    return opts


@dataclass(frozen=True)
class Timing:
    samples_us: tuple[float, ...]

    @property
    def min(self) -> float:
        return min(self.samples_us)

    @property
    def max(self) -> float:
        return max(self.samples_us)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_us)

    @property
    def stddev(self) -> float:
        return statistics.pstdev(self.samples_us)

    def line(self) -> str:
        return f"min={self.min:.2f}us max={self.max:.2f}us mean={self.mean:.2f}us stddev={self.stddev:.2f}us"


def time_calls(fn: Callable[[], object], iters: int, warmup: int) -> Timing:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(1, iters)):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return Timing(tuple(samples))


def tensor_summary(t: torch.Tensor) -> str:
    return f"tensor([...], device='{t.device}', size={tuple(t.shape)}, dtype={t.dtype})"


@dataclass
class BackendResult:
    backend: str
    timing: Timing | None = None
    verdict: Verdict | None = None
    compile_s: float | None = None
    error: str | None = None


def _backend_call(backend: str, sig: ConvSignature, args, opts: Options, log) -> tuple[Callable, float | None]:
    if backend == "torch":
        module = sig.get_nn_module()
        return (lambda: module(*args)), None
    from .runtime import LOADED

    t0 = time.perf_counter()
    kernel = LOADED.get(sig, opts.target, cache_dir=opts.cache_dir, strategy=opts.strategy, device_uri=opts.device)
    c = kernel.compiled
    if c.cache_hit:
        log(f"[boo] cache hit ({c.strategy}) {c.entry.path} in {time.perf_counter() - t0:.3f}s")
    else:
        log(f"[boo] compiled ({c.strategy}) in {c.compile_seconds:.2f}s -> {c.entry.path}")
    if c.fallback_reason:
        log(f"[boo] fast path failed to compile, used {c.strategy}: {c.fallback_reason}")
    return (lambda: kernel(*args)), (0.0 if c.cache_hit else c.compile_seconds)


def run_signature(sig: ConvSignature, opts: Options, do_time: bool, iters: int, do_verify: bool,
                  out=print, log=lambda s: None) -> list[BackendResult]:
    args = sig.get_sample_conv_args(seed=0)
    results = []
    label = len(opts.backends) > 1
    for backend in opts.backends:
        res = BackendResult(backend)
        prefix = f"{backend}: " if label else ""
        try:
            call, res.compile_s = _backend_call(backend, sig, args, opts, log)
            result = call()
            out(f">>> {prefix}{tensor_summary(result)}")
            if do_time:
                res.timing = time_calls(call, iters, opts.warmup)
                out(f">>> {prefix}{res.timing.line()}")
            if do_verify:
                res.verdict = verify(sig, args, result)
                out(f"{prefix}{res.verdict.line(sig)}")
        except BooError as e:
            res.error = str(e)
            out(f"{prefix}FAILED: {e}")
        results.append(res)
    return results


CSV_FIELDS = ["command", "direction", "dtype", "flops"]
_PER_BACKEND = ["min_us", "mean_us", "stddev_us", "verify", "error", "compile_s"]


def _csv_row(sig: ConvSignature, command: str, results: list[BackendResult]) -> dict:
    row = {"command": command, "direction": sig.mode.value, "dtype": str(sig.dtype).removeprefix("torch."),
           "flops": sig.flops}
    for r in results:
        t = r.timing
        row.update({
            f"{r.backend}_min_us": f"{t.min:.2f}" if t else "",
            f"{r.backend}_mean_us": f"{t.mean:.2f}" if t else "",
            f"{r.backend}_stddev_us": f"{t.stddev:.2f}" if t else "",
            f"{r.backend}_verify": ("OK" if r.verdict.ok else "FAILED") if r.verdict else ("ERROR" if r.error else ""),
            f"{r.backend}_error": f"{r.verdict.error:.3g}" if r.verdict else (r.error or ""),
            f"{r.backend}_compile_s": f"{r.compile_s:.3f}" if r.compile_s is not None else "",
        })
    return row


def run_command(line: str, opts: Options, out=print, log=lambda s: None) -> tuple[bool, list[dict]]:
    """Run every direction of one MIOpenDriver line. Returns (all ok, csv rows)."""
    out(line)
    try:
        cmd = parse_command(line)
        do_time = cmd.int_option("time") != 0
        iters = cmd.int_option("iter")
        do_verify = cmd.int_option("verify") != 0
    except BooError as e:
        out(f"FAILED: {e}")
        return False, []
    ok, rows = True, []
    for sig in cmd.signatures:
        results = run_signature(sig, opts, do_time, iters, do_verify, out=out, log=log)
        ok &= all(r.error is None and (r.verdict is None or r.verdict.ok) for r in results)
        rows.append(_csv_row(sig, line, results))
    return ok, rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts = _split_args(argv)
    except (BooError, ValueError) as e:
        print(f"boo-driver: {e}", file=sys.stderr)
        return 2
    if opts.help or (not opts.rest and not opts.commands_file):
        print(USAGE, file=sys.stderr if not opts.help else sys.stdout)
        return 0 if opts.help else 2
    if opts.commands_file:
        try:
            lines = [text for _, text in parse_commands_file(opts.commands_file, opts.rest)]
        except OSError as e:
            print(f"boo-driver: {e}", file=sys.stderr)
            return 2
    else:
        lines = [" ".join(opts.rest)]
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if opts.verbose else (lambda s: None)
    out = lambda s: print(s, flush=True)  # noqa: E731
    failed = 0
    all_rows = []
    for line in lines:
        ok, rows = run_command(line, opts, out=out, log=log)
        failed += not ok
        all_rows += rows
    if opts.csv:
        fields = CSV_FIELDS + [f"{b}_{f}" for b in opts.backends for f in _PER_BACKEND]
        with open(opts.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(all_rows)
    if len(lines) > 1:
        print(f"boo-driver: {len(lines) - failed}/{len(lines)} commands OK", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
