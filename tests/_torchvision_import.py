"""`import torchvision` beside our CPU-only torch, for tests that need its pure-Python models.

The torchvision 0.28.0 wheel ships C++ ops built against CUDA torch; beside the CPU torch they
do not load, and `import torchvision` then dies in `_meta_registrations`, which registers fake
kernels for `torchvision::nms` and `torchvision::qnms` unconditionally (its other registrations
check that the ops loaded). Defining those two schemas first lets the import finish; calling
them still fails, loudly, as they have no kernels. The models use neither.
"""

from __future__ import annotations

import importlib

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_lib = None


def _define_missing_ops() -> None:
    global _lib
    for schema in _SCHEMAS:
        name = schema.split("(", 1)[0]
        try:
            torch._C._dispatch_find_schema_or_throw(f"torchvision::{name}", "")
            continue
        except RuntimeError:
            pass
        if _lib is None:
            # Kept for the life of the process: a Library that is collected drops its definitions.
            _lib = torch.library.Library("torchvision", "FRAGMENT")
        _lib.define(schema)


def import_torchvision():
    """The `torchvision` module, or raise ImportError (not installed, or still failing)."""
    try:
        return importlib.import_module("torchvision")
    except ImportError:
        raise
    except RuntimeError:
        pass
    _define_missing_ops()
    import sys

    for mod in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[mod]  # a half-imported package must be imported afresh
    return importlib.import_module("torchvision")
