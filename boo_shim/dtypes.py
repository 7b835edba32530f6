"""The element types boo computes, one record each: every other module's dtype table derives from here.

A dtype has a name in each world it crosses: torch and numpy in Python, the wire name in the
daemon protocol and in function names, the command word of MIOpenDriver, MIOpen's
`miopenDataType_t`, the MLIR element type of the lowering, and the tolerance verification allows.

torch, numpy and ml_dtypes are imported only when a record's `torch` or `numpy` is asked for,
so that this module costs nothing to import for the shim and the daemon.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["Dtype", "FP32", "FP16", "BF16", "ALL", "BY_NAME", "BY_WIRE", "BY_COMMAND", "BY_MIOPEN",
           "BY_ALIAS", "by_torch", "by_numpy"]


@dataclass(frozen=True)
class Dtype:
    name: str  # ConvSignature's and the shim's name: fp32 | fp16 | bf16
    wire: str  # daemon protocol and function names: f32 | f16 | bf16
    mlir_type: str  # element type in the lowering's IR
    command: str  # MIOpenDriver's command word
    miopen: int  # miopenDataType_t
    tolerance: float  # bound on MIOpen's error metric against a float64 reference
    torch_name: str  # attribute of the torch module
    aliases: tuple[str, ...]  # what `ConvSignature(dtype=...)` accepts as text (lower case)

    @property
    def torch(self):
        import torch

        return getattr(torch, self.torch_name)

    @property
    def numpy(self):
        return _numpy_dtypes()[self.name]


# Inputs are exact in every dtype (the reference sees the same rounded inputs), so the error a
# tolerance bounds is the kernel's: accumulation order and the final rounding.
FP32 = Dtype("fp32", "f32", "f32", "conv", 1, 1e-5, "float32", ("fp32", "float32", "float", "f32"))
FP16 = Dtype("fp16", "f16", "f16", "convfp16", 0, 5e-3, "float16", ("fp16", "float16", "half", "f16"))
BF16 = Dtype("bf16", "bf16", "bf16", "convbfp16", 5, 2e-2, "bfloat16", ("bf16", "bfloat16", "bfp16"))

# The order is the order error messages and the protocol list them in.
ALL: tuple[Dtype, ...] = (FP32, FP16, BF16)

BY_NAME = {d.name: d for d in ALL}
BY_WIRE = {d.wire: d for d in ALL}
BY_COMMAND = {d.command: d for d in ALL}
BY_MIOPEN = {d.miopen: d for d in ALL}
BY_ALIAS = {alias: d for d in ALL for alias in d.aliases}


@functools.cache
def _numpy_dtypes() -> dict:
    import ml_dtypes
    import numpy as np

    return {"fp32": np.dtype(np.float32), "fp16": np.dtype(np.float16), "bf16": np.dtype(ml_dtypes.bfloat16)}


@functools.cache
def _torch_table() -> dict:
    return {d.torch: d for d in ALL}


def by_torch(torch_dtype) -> Dtype:
    """The record of a torch dtype; KeyError for one boo does not compute."""
    return _torch_table()[torch_dtype]


def by_numpy(numpy_dtype) -> Dtype:
    """The record of a numpy dtype (anything `np.dtype` takes); KeyError for one boo does not compute."""
    import numpy as np

    wanted = np.dtype(numpy_dtype)
    for d in ALL:
        if d.numpy == wanted:
            return d
    raise KeyError(numpy_dtype)
