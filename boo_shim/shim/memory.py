"""Where the caller's tensors live.

`HostMemory` (BOO_DEVICE=cpu, the default): pointers are host addresses; tensors are wrapped
as numpy views of the caller's memory (honouring strides), so packed tensors are read and
written without an extra copy. A device backend (HIP/CUDA pointers shipped to the daemon as
IPC handles) would be another class with the same four methods; `get_memory()` picks one.
"""

from __future__ import annotations

import os

import numpy as np

from .descriptors import TensorDesc, logical_letters, numpy_dtype, NotImplementedStatus, BadParm


class HostMemory:
    name = "cpu"

    def __init__(self, ffi):
        self.ffi = ffi

    def logical_view(self, ptr: int, desc: TensorDesc, writable: bool = True) -> np.ndarray:
        """The tensor at `ptr` as a strided numpy view in logical (N, C, (D,) H, W) order."""
        if not ptr:
            raise BadParm("NULL tensor pointer")
        dt = numpy_dtype(desc.dtype)
        nbytes = desc.element_space * dt.itemsize
        buf = self.ffi.buffer(self.ffi.cast("char *", ptr), nbytes)
        base = np.frombuffer(buf, dtype=dt, count=desc.element_space)
        return np.lib.stride_tricks.as_strided(
            base, shape=desc.lens, strides=[s * dt.itemsize for s in desc.strides], writeable=writable)

    def layout_view(self, ptr: int, desc: TensorDesc) -> np.ndarray:
        """The tensor in its memory-layout order (a view: contiguous when the tensor is packed)."""
        logical = logical_letters(desc.nd)
        perm = [logical.index(ch) for ch in desc.layout]
        return self.logical_view(ptr, desc).transpose(perm)

    def read(self, ptr: int, desc: TensorDesc) -> np.ndarray:
        """A C-contiguous array in layout order: a view of packed tensors, a gathered copy otherwise."""
        return np.ascontiguousarray(self.layout_view(ptr, desc))

    def write(self, ptr: int, desc: TensorDesc, value: np.ndarray) -> None:
        """Store a layout-order array into the tensor (scatters into strided memory)."""
        np.copyto(self.layout_view(ptr, desc), value, casting="unsafe")

    def scratch_copy(self, ptr: int, desc: TensorDesc):
        """A private copy of the tensor's memory: (pointer, keep-alive object)."""
        nbytes = desc.num_bytes
        keep = self.ffi.new("char[]", max(nbytes, 1))
        if ptr:
            self.ffi.memmove(keep, self.ffi.cast("char *", ptr), nbytes)
        return int(self.ffi.cast("uintptr_t", keep)), keep

    def alloc(self, nbytes: int):
        keep = self.ffi.new("char[]", max(int(nbytes), 1))
        return int(self.ffi.cast("uintptr_t", keep)), keep


def get_memory(ffi):
    dev = os.environ.get("BOO_DEVICE", "cpu").lower()
    if dev in ("cpu", "host", "local-task", "local-sync"):
        return HostMemory(ffi)
    raise NotImplementedStatus(f"BOO_DEVICE={dev}: only host memory (cpu) is supported by the shim so far")
