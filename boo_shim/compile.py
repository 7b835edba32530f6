"""Signature -> IR -> vmfb in the on-disk cache.

Strategies:
- `fast`: `lowering.emit_mlir` — named linalg convolutions IREE compiles well (all directions
  expressed as forward convolutions). Refuses what it cannot express.
- `export`: iree-turbine's exporter (`generate.generate_mlir`, torch -> IREE input); handles
  every signature, slower kernels.
- `auto` (default): `fast`, falling back to `export` for what `fast` refuses.

The cache key covers the signature, target, every flag, the compiler version and a hash of the
code that produces the IR, so changing any of them compiles anew.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
    from iree.compiler import version

    return f"{version.VERSION}+{version.REVISIONS.get('IREE', '')}"


@lru_cache(maxsize=1)
def _ir_code_hash() -> str:
    """Hash of the modules that write IR: a change there must not reuse old binaries."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("conv.py", "generate.py", "lowering.py"):
        p = here / name
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def _iree_compile() -> str:
    from iree.compiler.tools.binaries import find_tool

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
        try:
            from . import lowering

            name = lowering.choose_strategy(sig) if hasattr(lowering, "choose_strategy") else "fast"
            return lowering.emit_mlir(sig, parse_target(target).name), name
        except (ImportError, UnsupportedError) as e:
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
    """
    target = parse_target(target)
    if flags is None:
        _, flags = cache_key(sig, target, strategy, tuple(extra_flags))
    if started is None:
        started = time.perf_counter()
    text, used = emit_ir(sig, strategy, target)
    shown = ["iree-compile", "kernel.mlir", *flags, "-o", "kernel.vmfb"]
    # Compile from a file named as in compile.sh, so the recorded command reproduces the
    # binary byte for byte (source locations carry the file name).
    with tempfile.TemporaryDirectory(prefix="boo-compile-") as work:
        Path(work, "kernel.mlir").write_text(text)
        proc = subprocess.run([_iree_compile(), *shown[1:]], cwd=work, capture_output=True)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            first = next((ln for ln in err if "error" in ln), err[0] if err else "no output")
            raise CompileError(f"iree-compile failed for {sig.func_name} ({used}): {first}")
        vmfb = Path(work, "kernel.vmfb").read_bytes()
    return BuildResult(
        vmfb=vmfb,
        mlir=text,
        command=" ".join(shlex.quote(c) for c in shown),
        meta={
            "signature": sig.as_dict(),
            "command": sig.to_command(),
            "func_name": sig.func_name,
            "target": target.spec,
            "flags": flags,
            "compiler": compiler_version(),
            "strategy": used,
            "requested_strategy": strategy,
            "compile_seconds": round(time.perf_counter() - started, 4),
        },
    )


def compile_signature(
    sig: ConvSignature,
    target: str | Target | None = "cpu",
    *,
    cache: KernelCache | str | None = None,
    strategy: str = "auto",
    extra_flags: tuple[str, ...] = (),
) -> CompiledKernel:
    """Return the cached kernel for `sig` on `target`, compiling it if needed."""
    target = parse_target(target)
    cache = cache if isinstance(cache, KernelCache) else KernelCache(cache)
    key, flags = cache_key(sig, target, strategy, tuple(extra_flags))
    started = time.perf_counter()

    def build() -> BuildResult:
        return build_kernel(sig, target, strategy, extra_flags, flags=flags, started=started)

    entry, hit = cache.get_or_build(target.cache_id, key, build)
    return CompiledKernel(sig, target, entry, hit, 0.0 if hit else time.perf_counter() - started)
