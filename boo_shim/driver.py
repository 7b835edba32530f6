"""`boo-driver`: MIOpenDriver's command line, run through IREE (and torch, side by side).

    boo-driver convbfp16 -n 16 -c 96 -H 48 -W 32 -k 288 -y 1 -x 1 -F 1 -t 1 --in_layout NHWC ...
    boo-driver --commands-file cmds.txt --backend iree --backend torch --csv out.csv -t 1

Timing (`-t 1`): `--iter N` calls after `--warmup` calls. Which clock, by `--timing`:
- `host` (the default on `cpu`): `time.perf_counter()` around each synchronous call; IREE's
  local-task call returns only when the result is ready, so the interval covers the work.
- `events` (the default on `cuda`/`rocm`): CUDA events (`torch.cuda.Event`) recorded on torch's
  current stream before and after each call, read after one final synchronize. For torch
  (cuDNN), whose calls only enqueue, that is the device time of the call's kernels. IREE runs on
  its own non-blocking stream and its call returns after its work is done, so for IREE the same
  events bracket the whole call as the GPU's clock sees it: submit, kernels and the host's wait.
- `kernels`: the summed device durations of every GPU kernel, copy and fill the call ran, as
  CUPTI records them (`torch.profiler`, which sees kernels from any library in the process,
  IREE's too): the one clock that times both backends' kernels alike. Reported per call.
On a GPU target the inputs live on the device (torch tensors there; IREE takes them through
DLPack, no copies), and `-V 1` verifies against float64 on the host. Verification (`-V 1`,
MIOpenDriver's default) uses MIOpen's metric and per-dtype tolerances (`numerics.TOLERANCES`).
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
  --device URI           IREE device (default: the target's driver, e.g. local-task); `cuda` alone
                         also makes the target cuda (sm_80) unless --target says otherwise
  --timing CLOCK         host | events | kernels (default: host on cpu, events on a GPU target)
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
    "--cache-dir": True, "--strategy": True, "--warmup": True, "--csv": True, "--timing": True,
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
    timing: str | None = None  # host | events | kernels; None: by target (see module doc)
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
            elif key == "timing":
                if value not in TIMING_CLOCKS:
                    raise BooError(f"--timing: expected one of {', '.join(TIMING_CLOCKS)}, got {value!r}")
                opts.timing = value
            else:
                setattr(opts, key, value)
        else:
            opts.rest.append(tok)
            i += 1
    opts.backends = opts.backends or ["iree"]
    if opts.device and opts.device.split(":")[0] in ("cuda", "hip") and "--target" not in {
            a.partition("=")[0] for a in argv}:
        opts.target = "cuda" if opts.device.startswith("cuda") else "rocm"
    return opts


TIMING_CLOCKS = ("host", "events", "kernels")


def torch_device(target: str) -> torch.device:
    """Where torch's tensors live for `target`: the GPU for cuda and rocm (torch's ROCm build
    calls it `cuda` too), else the CPU."""
    from .targets import parse_target

    try:
        name = parse_target(target).name
    except BooError:
        name = "cpu"  # the IREE backend reports the bad --target in its own result line
    return torch.device("cuda" if name in ("cuda", "rocm") else "cpu")


def clock_for(opts: Options) -> str:
    if opts.timing:
        return opts.timing
    return "events" if torch_device(opts.target).type == "cuda" else "host"


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


def time_calls(fn: Callable[[], object], iters: int, warmup: int, clock: str = "host") -> Timing:
    """`iters` calls of `fn` after `warmup`, timed by `clock` (see the module doc)."""
    if clock == "kernels":
        for _ in range(warmup):
            fn()
        return Timing(tuple(kernel_times_us(fn, max(1, iters))))
    if clock == "events":
        return _time_events(fn, iters, warmup)
    if clock != "host":
        raise BooError(f"--timing: unknown clock {clock!r}")
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(max(1, iters)):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return Timing(tuple(samples))


def _time_events(fn: Callable[[], object], iters: int, warmup: int) -> Timing:
    """CUDA events on torch's current stream around each call; read once all are done, so
    reading them adds no synchronization between calls."""
    if not torch.cuda.is_available():
        raise BooError("--timing events needs a CUDA device (torch.cuda.is_available() is false)")
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    pairs = []
    for _ in range(max(1, iters)):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        pairs.append((start, end))
    torch.cuda.synchronize()
    return Timing(tuple(s.elapsed_time(e) * 1e3 for s, e in pairs))


def kernel_times_us(fn: Callable[[], object], iters: int) -> list[float]:
    """Per call, the summed device time of the GPU activity CUPTI recorded (kernels, copies,
    fills) while `iters` calls ran. The profiler's figures are totals, so every call gets the
    mean; the spread across calls is not available from this clock."""
    if not torch.cuda.is_available():
        raise BooError("--timing kernels needs a CUDA device (torch.cuda.is_available() is false)")
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
    total_us = device_activity_us(prof)
    if total_us <= 0:
        raise BooError("--timing kernels: the profiler recorded no GPU activity for these calls")
    return [total_us / iters] * iters


def device_activity_us(prof) -> float:
    """Total device microseconds of GPU events in a finished torch.profiler run."""
    total = 0.0
    for ev in prof.events():
        if str(getattr(ev, "device_type", "")).endswith("CUDA"):
            # torch >= 2.4 says device_time; older releases said cuda_time.
            total += float(getattr(ev, "device_time", None) or getattr(ev, "cuda_time", 0.0) or 0.0)
    return total


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
    """`args` already live where the target runs (see `run_signature`)."""
    if backend == "torch":
        module = sig.get_nn_module().to(args[0].device)
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
    if args[0].device.type != "cpu":
        # Device tensors: IREE takes their memory through DLPack, no copies either way.
        return (lambda: kernel.run_dlpack(*args)), (0.0 if c.cache_hit else c.compile_seconds)
    return (lambda: kernel(*args)), (0.0 if c.cache_hit else c.compile_seconds)


def run_signature(sig: ConvSignature, opts: Options, do_time: bool, iters: int, do_verify: bool,
                  out=print, log=lambda s: None) -> list[BackendResult]:
    host_args = sig.get_sample_conv_args(seed=0)
    where = torch_device(opts.target)
    args = tuple(a.to(where) for a in host_args) if where.type != "cpu" else host_args
    clock = clock_for(opts)
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
                res.timing = time_calls(call, iters, opts.warmup, clock)
                # MIOpenDriver's line as it was for the host clock; other clocks are named.
                out(f">>> {prefix}{res.timing.line()}" + ("" if clock == "host" else f" ({clock} clock)"))
            if do_verify:
                res.verdict = verify(sig, host_args, result.cpu())
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
