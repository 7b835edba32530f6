"""Where the caller's tensors live.

`HostMemory` (BOO_DEVICE=cpu, the default): pointers are host addresses; tensors are wrapped
as numpy views of the caller's memory (honouring strides), so packed tensors are read and
written without an extra copy. A device backend (HIP/CUDA pointers shipped to the daemon as
IPC handles) would be another class with the same four methods; `get_memory()` picks one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import config
from .descriptors import TensorDesc, logical_letters, numpy_dtype, NotImplementedStatus, BadParm


@dataclass(frozen=True)
class _ViewRecipe:
    """How to view a tensor of one descriptor content in memory-layout order, worked out once:
    building a strided view from scratch every call cost more than a tiny kernel."""

    dtype: np.dtype
    count: int  # elements spanned
    layout_shape: tuple  # lengths in memory-layout order
    packed_in_layout: bool  # a plain reshape of the memory gives the layout-order array
    lens: tuple
    byte_strides: tuple
    perm: tuple  # logical -> layout order


class HostMemory:
    name = "cpu"
    RECIPES = 1024  # descriptor contents remembered (LRU)

    def __init__(self, ffi):
        self.ffi = ffi
        self._recipes: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def _recipe(self, desc: TensorDesc) -> _ViewRecipe:
        key = desc.key()
        with self._lock:
            r = self._recipes.get(key)
            if r is not None:
                self._recipes.move_to_end(key)
                return r
        dt = numpy_dtype(desc.dtype)
        logical = logical_letters(desc.nd)
        perm = tuple(logical.index(ch) for ch in desc.layout)
        layout_shape = tuple(desc.lens[i] for i in perm)
        expect = 1  # packed strides of the layout order, innermost first
        packed = desc.packed
        for i in reversed(perm):
            if desc.lens[i] > 1 and desc.strides[i] != expect:
                packed = False
            expect *= desc.lens[i]
        r = _ViewRecipe(dt, desc.element_space, layout_shape, packed, tuple(desc.lens),
                        tuple(s * dt.itemsize for s in desc.strides), perm)
        with self._lock:
            self._recipes[key] = r
            while len(self._recipes) > self.RECIPES:
                self._recipes.popitem(last=False)
        return r

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

    def packed(self, desc: TensorDesc) -> bool:
        """Whether the tensor's bytes, as they lie, are its layout-order array (no gaps, no
        permutation): what the C hot path can send and fill as is."""
        r = self._recipe(desc)
        return r.packed_in_layout and r.count * r.dtype.itemsize == desc.num_bytes

    def layout_view(self, ptr: int, desc: TensorDesc) -> np.ndarray:
        """The tensor in its memory-layout order (a view: contiguous when the tensor is packed)."""
        if not ptr:
            raise BadParm("NULL tensor pointer")
        r = self._recipe(desc)
        buf = self.ffi.buffer(self.ffi.cast("char *", ptr), r.count * r.dtype.itemsize)
        base = np.frombuffer(buf, dtype=r.dtype, count=r.count)
        if r.packed_in_layout:
            return base.reshape(r.layout_shape)
        return np.lib.stride_tricks.as_strided(base, shape=r.lens, strides=r.byte_strides).transpose(r.perm)

    def read(self, ptr: int, desc: TensorDesc) -> np.ndarray:
        """A C-contiguous array in layout order: a view of packed tensors, a gathered copy otherwise."""
        v = self.layout_view(ptr, desc)
        return v if v.flags.c_contiguous else np.ascontiguousarray(v)

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
    dev = (config.device() or "cpu").lower()
    if dev in ("cpu", "host", "local-task", "local-sync"):
        return HostMemory(ffi)
    raise NotImplementedStatus(f"BOO_DEVICE={dev}: only host memory (cpu) is supported by the shim so far")
