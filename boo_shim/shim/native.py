"""The real MIOpen behind the shim (`dlsym(RTLD_NEXT, ...)` or `BOO_NATIVE_LIB`).

Used for the native fallback and for `BOO_COMPARE=1`. The shim's descriptors are its own
objects, so every native call first mirrors them into native descriptors (created with the
native Create/Set functions, refreshed when ours change): that translation lives only here
(`handle`, `tensor`, `conv`, `translate`).
"""

from __future__ import annotations

import threading
import time

from ..errors import BooError, MIOpenStatus
from .descriptors import ConvDesc, Handle, TensorDesc


class NativeUnavailable(BooError):
    status = MIOpenStatus.NotInitialized


class NativeLib:
    def __init__(self, ffi, lib):
        self.ffi, self.lib = ffi, lib
        self._fns: dict[str, object] = {}
        self._lock = threading.RLock()

    def fn(self, name: str):
        f = self._fns.get(name)
        if f is None:
            p = self.lib.boo_native_sym(name.encode())
            if p == self.ffi.NULL:
                raise NativeUnavailable(f"no native MIOpen library behind the shim provides {name}")
            f = self.ffi.cast(self.ffi.typeof(getattr(self.lib, name)), p)
            self._fns[name] = f
        return f

    @property
    def available(self) -> bool:
        try:
            self.fn("miopenCreate")
            return True
        except NativeUnavailable:
            return False

    def check(self, name: str, *args) -> None:
        st = int(self.fn(name)(*args))
        if st != 0:
            err = BooError(f"native {name} failed with status {st}")
            err.status = MIOpenStatus(st) if st in MIOpenStatus._value2member_map_ else MIOpenStatus.UnknownError
            raise err

    # ------------------------------------------------------------------ descriptor mirroring
    def handle(self, h: Handle):
        with self._lock:
            if h.native is None:
                out = self.ffi.new("miopenHandle_t *")
                self.check("miopenCreateWithStream", out, self.ffi.cast("void *", h.stream))
                h.native = out[0]
                if h.profiling:
                    self.check("miopenEnableProfiling", h.native, True)
            return h.native

    def tensor(self, t: TensorDesc):
        with self._lock:
            if t.native is None:
                out = self.ffi.new("miopenTensorDescriptor_t *")
                self.check("miopenCreateTensorDescriptor", out)
                t.native = out[0]
            if t.native_version != t.version and t.is_set:
                self.check("miopenSetTensorDescriptor", t.native, int(t.dtype), t.nd,
                           self.ffi.new("int[]", list(t.lens)), self.ffi.new("int[]", list(t.strides)))
                t.native_version = t.version
            return t.native

    def conv(self, c: ConvDesc):
        with self._lock:
            if c.native is None:
                out = self.ffi.new("miopenConvolutionDescriptor_t *")
                self.check("miopenCreateConvolutionDescriptor", out)
                c.native = out[0]
            if c.native_version != c.version:
                arr = lambda v: self.ffi.new("int[]", list(v))  # noqa: E731
                self.check("miopenInitConvolutionNdDescriptor", c.native, c.spatial, arr(c.pad), arr(c.stride),
                           arr(c.dilation), c.mode)
                self.check("miopenSetConvolutionGroupCount", c.native, c.groups)
                if c.transposed:
                    self.check("miopenSetTransposeConvNdOutputPadding", c.native, c.spatial, arr(c.adj))
                c.native_version = c.version
            return c.native

    def translate(self, obj):
        if isinstance(obj, Handle):
            return self.handle(obj)
        if isinstance(obj, TensorDesc):
            return self.tensor(obj)
        if isinstance(obj, ConvDesc):
            return self.conv(obj)
        return obj

    def destroy(self, obj) -> None:
        """Destroy the native twin of one of our objects (if one was made)."""
        if obj.native is None:
            return
        name = {Handle: "miopenDestroy", TensorDesc: "miopenDestroyTensorDescriptor",
                ConvDesc: "miopenDestroyConvolutionDescriptor"}[type(obj)]
        try:
            self.fn(name)(obj.native)
        except NativeUnavailable:
            pass
        obj.native = None

    def set_profiling(self, h: Handle) -> None:
        if h.native is not None:
            self.fn("miopenEnableProfiling")(h.native, h.profiling)

    # ------------------------------------------------------------------ calls
    def call(self, name: str, args: list, handle: Handle | None = None) -> int:
        """Call native `name` with our objects in `args` translated; returns the status and
        records the wall time on `handle`."""
        native_args = [self.translate(a) for a in args]
        t0 = time.perf_counter()
        st = int(self.fn(name)(*native_args))
        ms = (time.perf_counter() - t0) * 1e3
        if handle is not None:
            handle.last_ms = ms
        return st

    def first_solution(self, name_prefix: str, args4: list) -> int:
        """The first native solution id for a problem (immediate-mode fallback): args4 are the
        (handle, desc, desc, conv, desc) of the GetSolution call."""
        count = self.ffi.new("size_t *")
        sols = self.ffi.new("miopenConvSolution_t[1]")
        st = self.call(name_prefix + "GetSolution", list(args4) + [1, count, sols])
        if st != 0 or count[0] < 1:
            err = BooError(f"native {name_prefix}GetSolution returned no solution (status {st})")
            err.status = MIOpenStatus(st) if st in MIOpenStatus._value2member_map_ and st else MIOpenStatus.NotImplemented
            raise err
        return int(sols[0].solution_id)
