"""Signature -> IR -> vmfb in the on-disk cache.

Strategies:
- `fast`: `lowering.emit_mlir` — named linalg convolutions IREE compiles well (all directions
  expressed as forward convolutions). Refuses what it cannot express.
- `export`: iree-turbine's exporter (`generate.generate_mlir`, torch -> IREE input); handles
  every signature, slower kernels.
- `auto` (default): `fast`, falling back to `export` for what `fast` refuses *and* for what
  `fast` emits but IREE fails to compile (e.g. "One or more operations with large vector sizes"
  on some strided NHWC backward-data convs); meta.json then records `fallback_from` and
  `fallback_reason`. An explicit `fast` or `export` is never replaced by the other.

The cache key covers the signature, target, every flag, the compiler version and a hash of the
code that produces the IR, so changing any of them compiles anew. A key whose every strategy
failed to compile is remembered (`KernelCache.store_failure`, under the same key), so the next
request raises the same `CompileError` at once instead of spending seconds failing again;
`boo-cache clear` forgets it.
"""

from __future__ import annotations

import hashlib
import shlex
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import config
from .cache import BuildResult, CacheEntry, KernelCache, entry_key
from .conv import ConvSignature
from .errors import CompileError, UnsupportedError
from .targets import Target, parse_target

__all__ = [
    "STRATEGIES",
    "CompiledKernel",
    "build_kernel",
    "cache_key",
    "compile_signature",
    "compiler_version",
    "emit_ir",
]

STRATEGIES = ("auto", "fast", "export")


@lru_cache(maxsize=1)
def compiler_version() -> str:
    try:
        from iree.compiler import version
    except ImportError:
        # A machine with only IREE's runtime (the GPU machine: "build here, run there") must
        # still compute the keys of a cache compiled elsewhere; the bundle records the version
        # it was built with (scripts/gpu_bundle.sh, docs/gpu.md).
        pinned = config.compiler_version()
        if pinned:
            return pinned
        raise _no_compiler("set BOO_COMPILER_VERSION to the version a precompiled cache was built with") from None
    return f"{version.VERSION}+{version.REVISIONS.get('IREE', '')}"


def _no_compiler(hint: str) -> CompileError:
    """No iree-compile on this machine: not a property of the signature, so never remembered."""
    e = CompileError(f"no IREE compiler on this machine (iree-base-compiler is not installed); {hint}")
    e.first_line, e.strategy, e.mlir, e.command, e.deterministic = str(e), "none", None, None, False
    return e


# What writes the IR for a signature: modules, and packages whose every module counts (walked,
# so that a module added to one is covered without being named here).
_IR_SOURCES = ("conv.py", "generate.py", "lowering")


def _hash_ir_sources(root: Path) -> str:
    """Hash of `_IR_SOURCES` under `root`. A missing source raises: skipping it would let keys
    stop following the IR code without anyone noticing."""
    h = hashlib.sha256()
    for name in _IR_SOURCES:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        if not files:
            raise FileNotFoundError(f"no IR source under {path}")
        for f in files:
            h.update(f.relative_to(root).as_posix().encode() + b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def _ir_code_hash() -> str:
    """Hash of the modules that write IR: a change there must not reuse old binaries."""
    return _hash_ir_sources(Path(__file__).parent)


@lru_cache(maxsize=1)
def _iree_compile() -> str:
    try:
        from iree.compiler.tools.binaries import find_tool
    except ImportError:
        raise _no_compiler("this kernel is not in the cache: compile it where the compiler is "
                           "(scripts/gpu_bundle.sh) and bring the cache") from None

    return find_tool("iree-compile")


def _strategy_flags(sig: ConvSignature, strategy: str, target: Target) -> list[str]:
    """Flags the fast path's IR was tuned with; they depend on the signature (see lowering)."""
    if strategy not in ("auto", "fast"):
        return []
    from . import lowering

    return list(lowering.recommended_flags(target.name, sig))


def emit_ir(sig: ConvSignature, strategy: str = "auto", target: str | Target | None = "cpu") -> tuple[str, str]:
    """(MLIR text, strategy actually used) for `target` (the fast path's IR is target-aware)."""
    if strategy not in STRATEGIES:
        raise UnsupportedError(f"--strategy: unknown strategy {strategy!r}; use {', '.join(STRATEGIES)}")
    if strategy in ("auto", "fast"):
        from . import lowering

        try:
            return (lowering.emit_mlir(sig, parse_target(target).name, output_entry=True),
                    lowering.choose_strategy(sig))
        except UnsupportedError as e:
            if strategy == "fast":
                raise UnsupportedError(f"fast path: {e}") from None
    from .generate import generate_mlir

    return str(generate_mlir(sig, import_pipeline=["torch-to-iree"])), "export"


@dataclass(frozen=True)
class CompiledKernel:
    signature: ConvSignature
    target: Target
    entry: CacheEntry
    cache_hit: bool
    compile_seconds: float  # 0 on a hit

    @property
    def strategy(self) -> str:
        return self.entry.meta.get("strategy", "?")

    @property
    def fallback_reason(self) -> str | None:
        """Why the fast path's IR was not used (IREE's first error line), when `auto` fell through."""
        m = self.entry.meta
        return f"{m['fallback_from']}: {m.get('fallback_reason', '?')}" if m.get("fallback_from") else None


def cache_key(sig: ConvSignature, target: Target, strategy: str, extra_flags: tuple[str, ...]) -> tuple[str, list[str]]:
    flags = target.compile_flags() + _strategy_flags(sig, strategy, target) + list(extra_flags)
    key = entry_key(
        {
            "signature": sig.key,
            "target": target.cache_id,
            "flags": flags,
            "compiler": compiler_version(),
            "ir_code": _ir_code_hash(),
            "strategy": strategy,
        }
    )
    return key, flags


# Exit by one of these means the compiler was stopped (daemon shutdown, OOM killer, Ctrl-C), not
# that it cannot compile the IR: such a failure is not remembered.
_STOPPED = {-signal.SIGKILL, -signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP}


def _run_iree_compile(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    """The one place iree-compile runs (tests count calls through it)."""
    return subprocess.run([_iree_compile(), *args], cwd=cwd, capture_output=True)


def _first_error_line(stderr: bytes) -> str:
    err = stderr.decode(errors="replace").strip().splitlines()
    return next((ln for ln in err if "error" in ln), err[0] if err else "no output")


def _compile_ir(sig: ConvSignature, target: Target, text: str, used: str, flags: list[str],
                requested: str, started: float) -> BuildResult:
    shown = ["iree-compile", "kernel.mlir", *flags, "-o", "kernel.vmfb"]
    command = " ".join(shlex.quote(c) for c in shown)
    # Compile from a file named as in compile.sh, so the recorded command reproduces the
    # binary byte for byte (source locations carry the file name).
    with tempfile.TemporaryDirectory(prefix="boo-compile-") as work:
        Path(work, "kernel.mlir").write_text(text)
        proc = _run_iree_compile(shown[1:], work)
        if proc.returncode != 0:
            first = _first_error_line(proc.stderr)
            e = CompileError(f"iree-compile failed for {sig.func_name} ({used}): {first}")
            e.first_line, e.strategy, e.mlir, e.command = first, used, text, command
            e.deterministic = proc.returncode not in _STOPPED
            raise e
        vmfb = Path(work, "kernel.vmfb").read_bytes()
    return BuildResult(
        vmfb=vmfb,
        mlir=text,
        command=command,
        meta={
            "signature": sig.as_dict(),
            "command": sig.to_command(),
            "func_name": sig.func_name,
            "target": target.spec,
            "flags": flags,
            "compiler": compiler_version(),
            "strategy": used,
            "requested_strategy": requested,
            "compile_seconds": round(time.perf_counter() - started, 4),
        },
    )


def build_kernel(
    sig: ConvSignature,
    target: str | Target | None = "cpu",
    strategy: str = "auto",
    extra_flags: tuple[str, ...] = (),
    *,
    flags: list[str] | None = None,
    started: float | None = None,
) -> BuildResult:
    """Emit IR for `sig` and run iree-compile; store nothing (the caller's cache does that).

    What `compile_signature` runs on a cache miss, public so that another process or machine
    (`boo-precompile --scheduler`) can build what the caller then stores under the same key.
    Under `auto`, a fast-path IR that IREE fails to compile is built again by the exporter
    (without the fast path's flags); if that fails too, the `CompileError` names both reasons.
    """
    target = parse_target(target)
    if flags is None:
        _, flags = cache_key(sig, target, strategy, tuple(extra_flags))
    if started is None:
        started = time.perf_counter()
    _iree_compile()  # no compiler: say so before the exporter's import errors can
    text, used = emit_ir(sig, strategy, target)
    try:
        return _compile_ir(sig, target, text, used, flags, strategy, started)
    except CompileError as first:
        if strategy != "auto" or used == "export":
            raise
        fast_only = set(_strategy_flags(sig, strategy, target))
        export_flags = [f for f in flags if f not in fast_only]
        try:
            text2, _ = emit_ir(sig, "export", target)
            result = _compile_ir(sig, target, text2, "export", export_flags, strategy, started)
        except Exception as second:  # noqa: BLE001 - the exporter's own errors are not all BooErrors
            reason = getattr(second, "first_line", None) or f"{type(second).__name__}: {second}"
            e = CompileError(f"iree-compile failed for {sig.func_name}: {used}: {first.first_line}; "
                             f"export fallback: {reason}")
            e.first_line, e.strategy, e.mlir, e.command = first.first_line, used, first.mlir, first.command
            # Remembered only if both failures would repeat: a stopped compiler or a full disk
            # says nothing about the signature.
            e.deterministic = first.deterministic and getattr(
                second, "deterministic", not isinstance(second, (OSError, MemoryError)))
            raise e from None
        result.meta.update(fallback_from=used, fallback_reason=first.first_line)
        return result


def _remembered(failure: CacheEntry) -> CompileError:
    m = failure.meta
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.get("created", 0)))
    e = CompileError(f"{m.get('error', 'compile failed')} (remembered from {when}; "
                     f"`boo-cache clear` to try again)")
    e.first_line, e.strategy = m.get("first_line", ""), m.get("failed_strategy", "?")
    e.mlir, e.command, e.deterministic, e.remembered = None, m.get("compile_command"), True, True
    return e


def compile_signature(
    sig: ConvSignature,
    target: str | Target | None = "cpu",
    *,
    cache: KernelCache | str | None = None,
    strategy: str = "auto",
    extra_flags: tuple[str, ...] = (),
) -> CompiledKernel:
    """Return the cached kernel for `sig` on `target`, compiling it if needed.

    Raises `CompileError` when no strategy allowed by `strategy` compiles; that answer is
    remembered in the cache under the same key, so asking again costs a file read.
    """
    target = parse_target(target)
    cache = cache if isinstance(cache, KernelCache) else KernelCache(cache)
    key, flags = cache_key(sig, target, strategy, tuple(extra_flags))
    started = time.perf_counter()

    def build() -> BuildResult:
        # Runs under the entry's lock, so a process that waited there for another's failed
        # compile finds the failure it recorded instead of compiling again.
        failure = cache.lookup_failure(target.cache_id, key)
        if failure is not None:
            raise _remembered(failure)
        try:
            return build_kernel(sig, target, strategy, extra_flags, flags=flags, started=started)
        except CompileError as e:
            if getattr(e, "deterministic", False):
                cache.store_failure(
                    target.cache_id, key,
                    {"signature": sig.as_dict(), "command": sig.to_command(), "func_name": sig.func_name,
                     "target": target.spec, "flags": flags, "compiler": compiler_version(),
                     "requested_strategy": strategy, "strategy": "failed", "failed_strategy": e.strategy,
                     "error": str(e), "first_line": e.first_line, "compile_command": e.command,
                     "compile_seconds": round(time.perf_counter() - started, 4)},
                    mlir=e.mlir, command=e.command,
                )
            raise

    entry, hit = cache.get_or_build(target.cache_id, key, build)
    return CompiledKernel(sig, target, entry, hit, 0.0 if hit else time.perf_counter() - started)
