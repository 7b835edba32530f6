"""Compile targets and their flags: the one place that knows what `cpu`, `cuda` and `rocm` mean.

Everything that chooses where a kernel runs takes a target spec string: `cpu` (llvm-cpu for
this host), `cuda` / `cuda:sm_80`, `rocm` / `rocm:gfx942`.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from functools import lru_cache

from .errors import BooError

__all__ = ["Target", "parse_target", "TARGET_NAMES"]

TARGET_NAMES = ("cpu", "cuda", "rocm")
_DEFAULT_ARCH = {"cpu": "host", "cuda": "sm_80", "rocm": "gfx942"}
# IREE runtime HAL driver per target.
_DRIVERS = {"cpu": "local-task", "cuda": "cuda", "rocm": "hip"}


@lru_cache(maxsize=1)
def _host_cpu_fingerprint() -> str:
    """`host` compiles for this CPU's features; two machines share binaries only if they match."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = line
                    break
    except OSError:
        pass
    return platform.machine() + "-" + hashlib.sha256(flags.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Target:
    name: str  # cpu | cuda | rocm
    arch: str  # host | sm_80 | gfx942 ...

    @property
    def driver(self) -> str:
        return _DRIVERS[self.name]

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.arch}"

    @property
    def cache_id(self) -> str:
        """Directory name in the cache; `host` is pinned to this machine's CPU features."""
        arch = _host_cpu_fingerprint() if self.arch == "host" else self.arch
        return f"{self.name}-{arch}"

    def compile_flags(self) -> list[str]:
        if self.name == "cpu":
            return [
                "--iree-hal-target-device=local",
                "--iree-hal-local-target-device-backends=llvm-cpu",
                f"--iree-llvmcpu-target-cpu={self.arch}",
            ]
        if self.name == "cuda":
            return ["--iree-hal-target-device=cuda", f"--iree-cuda-target={self.arch}"]
        # IREE 3.13 spells the HIP target flag --iree-rocm-target.
        return ["--iree-hal-target-device=hip", f"--iree-rocm-target={self.arch}"]


def parse_target(spec: str | Target | None) -> Target:
    """`cpu`, `cuda:sm_80`, `rocm:gfx942` ... -> Target."""
    if isinstance(spec, Target):
        return spec
    spec = (spec or "cpu").strip()
    name, _, arch = spec.partition(":")
    name = {"llvm-cpu": "cpu", "hip": "rocm"}.get(name, name)
    if name not in TARGET_NAMES:
        raise BooError(f"--target: unknown target {spec!r}; use cpu, cuda[:sm_XX] or rocm[:gfxXXX]")
    return Target(name, arch or _DEFAULT_ARCH[name])
