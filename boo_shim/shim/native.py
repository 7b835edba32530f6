"""The real MIOpen behind the shim (`dlsym(RTLD_NEXT, ...)` or `BOO_NATIVE_LIB`).

When one is loaded, every handle and descriptor the program holds is the native library's own
object (the shim created it there and keeps its state beside it, see impl.py), so a call is
forwarded by passing the program's own arguments through unchanged: there is nothing to
translate. Used for the native fallback, for `BOO_COMPARE=1`, and for every Set and Get, which
the native library sees first.
"""

from __future__ import annotations

import threading
import time

from ..errors import BooError, MIOpenStatus


class NativeUnavailable(BooError):
    status = MIOpenStatus.NotInitialized


def status_error(message: str, st: int) -> BooError:
    err = BooError(message)
    err.status = MIOpenStatus(st) if st in MIOpenStatus._value2member_map_ else MIOpenStatus.UnknownError
    return err


class NativeLib:
    def __init__(self, ffi, lib):
        self.ffi, self.lib = ffi, lib
        self._fns: dict[str, object] = {}
        self._lock = threading.Lock()
        self._present: bool | None = None

    def fn(self, name: str):
        f = self._fns.get(name)
        if f is None:
            p = self.lib.boo_native_sym(name.encode())
            if p == self.ffi.NULL:
                raise NativeUnavailable(f"no native MIOpen library behind the shim provides {name}")
            # the prototype: our own export of the name (the conv calls' C wrappers are not
            # visible to cffi; their Python side boo_py_<name> has the same prototype)
            ours = getattr(self.lib, name, None) or getattr(self.lib, "boo_py_" + name)
            f = self.ffi.cast(self.ffi.typeof(ours), p)
            with self._lock:
                self._fns[name] = f
        return f

    def has(self, name: str) -> bool:
        try:
            self.fn(name)
            return True
        except NativeUnavailable:
            return False

    @property
    def available(self) -> bool:
        """A native library is loaded behind the shim (decided once: the lookup order of a
        running process does not change)."""
        if self._present is None:
            try:
                self.fn("miopenCreate")
                self._present = True
            except NativeUnavailable:
                self._present = False
        return self._present

    def call(self, name: str, args, handle=None) -> int:
        """Call native `name` with the program's own arguments; returns its status and records
        the wall time on our `handle` (for miopenGetKernelTime when profiling is off natively)."""
        t0 = time.perf_counter()
        st = int(self.fn(name)(*args))
        if handle is not None:
            handle.last_ms = (time.perf_counter() - t0) * 1e3
            handle.last_native = True
        return st

    def check(self, name: str, *args) -> None:
        st = self.call(name, args)
        if st != 0:
            raise status_error(f"native {name} failed with status {st}", st)

    def first_solution(self, name_prefix: str, args5: list) -> int:
        """The first native solution id for a problem (immediate-mode fallback): args5 are the
        (handle, desc, desc, conv, desc) of the GetSolution call."""
        count = self.ffi.new("size_t *")
        sols = self.ffi.new("miopenConvSolution_t[1]")
        st = self.call(name_prefix + "GetSolution", list(args5) + [1, count, sols])
        if st != 0 or count[0] < 1:
            raise status_error(f"native {name_prefix}GetSolution returned no solution (status {st})",
                               st or int(MIOpenStatus.NotImplemented))
        return int(sols[0].solution_id)
