"""The MIOpen-compatible LD_PRELOAD shim (`libboo_miopen_shim.so`).

- `build.py`: the cffi embedding build (exports every function of native/include/miopen/miopen.h;
  the convolution calls go through native/shim/fast_call.c first);
- `impl.py`: the Python implementation of every entry point (runs inside the host process);
- `descriptors.py`: handle / tensor / convolution descriptor objects and MIOpen's formulas;
- `native.py`: the real MIOpen behind the shim (fallback and compare mode);
- `memory.py`: where tensors live (host memory today).

`shim_path()` returns the built library, building it on first use into a per-venv location.
See docs/shim.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import config

LIB_NAME = "libboo_miopen_shim.so"

__all__ = ["LIB_NAME", "default_build_dir", "shim_path"]


def default_build_dir() -> Path:
    """`BOO_SHIM_DIR`, else `<venv>/lib/boo-shim` (one build per venv)."""
    env = config.shim_dir()
    if env:
        return Path(env).resolve()
    return Path(sys.prefix) / "lib" / "boo-shim"


def _sources_mtime() -> float:
    from .build import DEFAULT_HEADER, FAST_CALL_SOURCE

    here = Path(__file__).resolve().parent
    return max(p.stat().st_mtime for p in [here / "build.py", DEFAULT_HEADER, FAST_CALL_SOURCE] if p.exists())


def shim_path(build_if_missing: bool = True, rebuild_if_stale: bool = True) -> Path:
    """Absolute path of the built shim; builds it (under a file lock) when missing or older than
    its sources (build.py, the header, native/shim/fast_call.c)."""
    out = default_build_dir()
    lib = out / LIB_NAME
    stale = lib.exists() and rebuild_if_stale and lib.stat().st_mtime < _sources_mtime()
    if lib.exists() and not stale:
        return lib
    if not build_if_missing:
        raise FileNotFoundError(f"{lib} is not built; run `python -m boo_shim.shim.build`")
    from filelock import FileLock

    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / ".build.lock")):
        if not lib.exists() or (rebuild_if_stale and lib.stat().st_mtime < _sources_mtime()):
            from .build import build

            build(out)
    return lib
