"""`boo-precompile`: compile every signature x target into the kernel cache, here or on a cluster.

    boo-precompile -f cmds.txt --target cpu --target cuda:sm_80 --target rocm:gfx942 -j 4
    boo-precompile -f cmds.txt --target cuda:sm_80 --scheduler tcp://10.0.0.5:8786

Locally, a process pool (spawn) runs `compile_signature`, so concurrent builders share the
cache's per-entry locks. With `--scheduler`, Dask workers run `remote_build` (signature dict,
target spec, strategy) -> (vmfb bytes, mlir text, command, meta) and store nothing; this process
writes each result into its own cache through `KernelCache.get_or_build`, under the key it
computed itself, so an entry is the same whether it was built here or on a worker. A worker whose
compiler, IR code or (for `cpu`) CPU differs from this machine's would produce a different key:
its result is refused, never stored under the wrong key.

Dask is an optional extra (`pip install 'boo-shim[dask]'`), imported only for `--scheduler`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .cache import BuildResult, KernelCache
from .conv import ConvSignature
from .errors import BooError
from .targets import Target, parse_target

__all__ = ["Task", "Summary", "collect", "precompile", "remote_build", "main"]


@dataclass
class Task:
    """One signature for one target."""

    label: str  # where the command came from (file:line or -c)
    signature: ConvSignature
    target: Target
    key: str = ""
    status: str = "pending"  # compiled | cached | failed | missing (--check)
    reason: str = ""
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.signature.func_name} @ {self.target.spec}"


@dataclass
class Summary:
    cache_root: Path
    tasks: list[Task] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (label, reason) for lines that do not parse
    wall_seconds: float = 0.0
    where: str = "local"

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tasks)

    @property
    def failed(self) -> int:
        return self.count("failed") + self.count("missing") + len(self.invalid)

    def lines(self) -> list[str]:
        n_sigs = len({t.signature for t in self.tasks})
        n_targets = len({t.target for t in self.tasks})
        compile_s = sum(t.seconds for t in self.tasks if t.status == "compiled")
        missing = f"missing {self.count('missing')}, " if self.count("missing") else ""
        out = [
            f"boo-precompile: {n_sigs} signatures x {n_targets} targets = {len(self.tasks)} kernels"
            f" ({self.where}) -> {self.cache_root}",
            f"  compiled {self.count('compiled')}, cached already {self.count('cached')}, {missing}"
            f"failed {self.failed - self.count('missing')}  (compile time {compile_s:.1f} s,"
            f" wall {self.wall_seconds:.1f} s)",
        ]
        per_target: dict[str, Counter] = {}
        for t in self.tasks:
            per_target.setdefault(t.target.cache_id, Counter())[t.status] += 1
        for cid, c in per_target.items():
            line = f"  {cid:<28} compiled {c['compiled']:>3}  cached {c['cached']:>3}  failed {c['failed']:>3}"
            out.append(line + (f"  missing {c['missing']:>3}" if c["missing"] else ""))
        for label, reason in self.invalid:
            out.append(f"  INVALID {label}: {reason}")
        for t in self.tasks:
            if t.status in ("failed", "missing"):
                out.append(f"  {t.status.upper()} {t.name}: {t.reason}")
        return out


# ----------------------------------------------------------------------------- workers


def _last_line(e: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(e), e)).strip()
    return text.splitlines()[-1] if text else type(e).__name__


def _local_compile(sig_dict: dict, target_spec: str, strategy: str, cache_root: str) -> tuple[bool, float]:
    """Process-pool job: compile into the shared cache. Returns (cache hit, seconds)."""
    from .compile import compile_signature

    k = compile_signature(ConvSignature.from_dict(sig_dict), target_spec, cache=cache_root, strategy=strategy)
    return k.cache_hit, k.compile_seconds


def remote_build(sig_dict: dict, target_spec: str, strategy: str = "auto") -> tuple[bytes, str, str, dict]:
    """Dask job: build one kernel and store nothing. Pure: same inputs, same outputs.

    Returns (vmfb bytes, mlir text, compile command, meta); meta["built_on"] names the worker and
    the cache key it computed, which the caller checks against its own before storing.
    """
    from .compile import build_kernel, cache_key

    sig = ConvSignature.from_dict(sig_dict)
    target = parse_target(target_spec)
    key, flags = cache_key(sig, target, strategy, ())
    r = build_kernel(sig, target, strategy, (), flags=flags)
    meta = dict(r.meta, built_on={"host": socket.gethostname(), "key": key})
    return r.vmfb, r.mlir, r.command, meta


# ----------------------------------------------------------------------------- driver


def collect(commands: list[tuple[str, str]], targets: list[str], num_spatial_dims: int | None = None,
            forw: str | None = None) -> tuple[list[Task], list[tuple[str, str]]]:
    """(label, command line) pairs -> one Task per distinct signature x target, plus unparsable lines."""
    from .conv import Mode
    from .grammar import parse_command

    want_mode = Mode.parse(forw) if forw else None
    parsed_targets = [parse_target(t) for t in targets]
    sigs: list[tuple[str, ConvSignature]] = []
    seen: set[ConvSignature] = set()
    invalid = []
    for label, text in commands:
        try:
            found = parse_command(text).signatures
        except BooError as e:
            invalid.append((label, str(e)))
            continue
        for sig in found:
            if num_spatial_dims and sig.num_spatial_dims != num_spatial_dims:
                continue
            if want_mode and sig.mode is not want_mode:
                continue
            if sig not in seen:
                seen.add(sig)
                sigs.append((label, sig))
    tasks = [Task(label, sig, t) for t in parsed_targets for label, sig in sigs]
    return tasks, invalid


def precompile(
    tasks: list[Task],
    cache: KernelCache | str | os.PathLike | None = None,
    *,
    strategy: str = "auto",
    jobs: int = 1,
    scheduler: str | None = None,
    client=None,
    progress: bool = True,
    check: bool = False,
) -> Summary:
    """Compile every task into `cache` (locally, or on the Dask cluster at `scheduler` / `client`).

    Entries already in the cache are counted as cached without starting any worker. With
    `check`, nothing is compiled: what is not cached is marked missing.
    """
    from tqdm import tqdm

    from .compile import cache_key

    cache = cache if isinstance(cache, KernelCache) else KernelCache(cache)
    summary = Summary(cache.root, tasks)
    started = time.perf_counter()
    bar = tqdm(total=len(tasks), desc="precompile", unit="kernel", file=sys.stderr, disable=not progress)
    todo: list[Task] = []
    for t in tasks:
        try:
            t.key, _ = cache_key(t.signature, t.target, strategy, ())
        except BooError as e:  # an unknown strategy, for one
            t.status, t.reason = "failed", str(e)
            bar.update()
            continue
        if cache.lookup(t.target.cache_id, t.key) is not None:
            t.status = "cached"
            bar.update()
        else:
            todo.append(t)
    try:
        if todo and check:
            summary.where = "check only"
            for t in todo:
                t.status, t.reason = "missing", "not in the cache"
                bar.update()
        elif todo and (scheduler or client is not None):
            summary.where = f"dask {scheduler or getattr(getattr(client, 'scheduler', None), 'address', 'client')}"
            _run_dask(todo, cache, strategy, scheduler, client, bar)
        elif todo:
            summary.where = f"local, {max(1, min(jobs, len(todo)))} processes"
            _run_local(todo, cache, strategy, jobs, bar)
    finally:
        bar.close()
        summary.wall_seconds = time.perf_counter() - started
    return summary


def _run_local(todo: list[Task], cache: KernelCache, strategy: str, jobs: int, bar) -> None:
    def done(t: Task, fn) -> None:
        try:
            hit, seconds = fn()
            t.status, t.seconds = ("cached" if hit else "compiled"), seconds
        except Exception as e:  # noqa: BLE001 - one failure must not stop the batch
            t.status, t.reason = "failed", _last_line(e)
        bar.update()

    jobs = max(1, min(jobs, len(todo)))
    if jobs == 1:
        # No pool: one process compiles in turn (and skips spawn's start-up cost).
        for t in todo:
            done(t, lambda t=t: _local_compile(t.signature.as_dict(), t.target.spec, strategy, str(cache.root)))
        return
    # spawn: torch and the MLIR context are not fork-safe once initialised.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {
            pool.submit(_local_compile, t.signature.as_dict(), t.target.spec, strategy, str(cache.root)): t
            for t in todo
        }
        for fut in as_completed(futures):
            done(futures[fut], fut.result)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise BooError(
            "--scheduler needs Dask's distributed scheduler, which is not installed:"
            " pip install 'boo-shim[dask]'  (or: pip install 'dask[distributed]')"
        ) from None
    return distributed


def _run_dask(todo: list[Task], cache: KernelCache, strategy: str, scheduler: str | None, client, bar) -> None:
    distributed = _import_distributed()
    own = client is None
    if own:
        client = distributed.Client(scheduler, timeout="30s")
    try:
        futures = {}
        for t in todo:
            # Dask's key names the job in its dashboard; one key per cache entry.
            fut = client.submit(remote_build, t.signature.as_dict(), t.target.spec, strategy,
                                key=f"boo-{t.target.cache_id}-{t.key}", pure=False)
            futures[fut] = t
        for fut in distributed.as_completed(futures):
            t = futures[fut]
            try:
                vmfb, mlir, command, meta = fut.result()
                built_key = meta.get("built_on", {}).get("key")
                if built_key != t.key:
                    raise BooError(
                        f"worker {meta.get('built_on', {}).get('host', '?')} computed key {built_key}, this machine"
                        f" {t.key}: its compiler ({meta.get('compiler')}), boo code or CPU differ; not stored"
                    )
                result = BuildResult(vmfb=vmfb, mlir=mlir, command=command, meta=meta)
                _, hit = cache.get_or_build(t.target.cache_id, t.key, lambda result=result: result)
                t.status = "cached" if hit else "compiled"
                t.seconds = float(meta.get("compile_seconds", 0.0))
            except Exception as e:  # noqa: BLE001
                t.status, t.reason = "failed", _last_line(e)
            finally:
                fut.release()
            bar.update()
    finally:
        if own:
            client.close()


# ----------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    from .compile import STRATEGIES

    p = argparse.ArgumentParser(
        prog="boo-precompile",
        description="Compile MIOpenDriver conv signatures for one or more targets into the kernel cache.",
    )
    p.add_argument("-f", "--commands-file", action="append", default=[],
                   help="file of MIOpenDriver command lines (# comments); repeatable")
    p.add_argument("-c", "--command", action="append", default=[], help="one command line; repeatable")
    p.add_argument("--target", action="append", default=[],
                   help="cpu, cuda[:sm_XX], rocm[:gfxXXX]; repeatable (default: cpu)")
    p.add_argument("--cache-dir", help="cache directory (default: $BOO_CACHE_DIR or ~/.cache/boo)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="local worker processes")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="compile on this Dask scheduler's workers instead of locally (needs boo-shim[dask])")
    p.add_argument("-N", "--num-spatial-dims", type=int, choices=[1, 2, 3], help="keep only this many spatial dims")
    p.add_argument("-F", "--forw", choices=["fwd", "bwd", "wrw"], help="keep only this direction")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto", help="IR strategy (as boo-driver)")
    p.add_argument("--check", action="store_true",
                   help="compile nothing: list what the cache lacks (exit 1 if anything), e.g. on the run machine")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if not args.command and not args.commands_file:
        p.error("give -c COMMAND or -f FILE")

    from .grammar import parse_commands_file

    lines = [("-c", c) for c in args.command]
    try:
        for path in args.commands_file:
            lines += [(f"{path}:{no}", text) for no, text in parse_commands_file(path)]
        tasks, invalid = collect(lines, args.target or ["cpu"], args.num_spatial_dims, args.forw)
        if args.scheduler:
            _import_distributed()  # fail before any work when Dask is missing
    except (OSError, BooError) as e:
        print(f"boo-precompile: {e}", file=sys.stderr)
        return 2
    if not tasks and not invalid:
        print("boo-precompile: the filters leave nothing to compile", file=sys.stderr)
        return 1
    try:
        summary = precompile(tasks, args.cache_dir, strategy=args.strategy, jobs=args.jobs,
                             scheduler=args.scheduler, progress=not args.quiet, check=args.check)
    except (OSError, BooError) as e:
        print(f"boo-precompile: {e}", file=sys.stderr)
        return 2
    summary.invalid = invalid
    print("\n".join(summary.lines()))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
