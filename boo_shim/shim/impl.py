"""Python implementation of every entry point of native/include/miopen/miopen.h.

Runs inside the host process (cffi embedding, see build.py). Handles and descriptors are
host-side objects in an id table (descriptors.py); only compile, find and run go to the boo
daemon through `BooClient`. ForwardBias/BackwardBias are computed here with numpy.

Every entry point catches every exception: a `BooError` returns its MIOpen status, anything
else `miopenStatusInternalError` (logged once). When boo cannot serve a convolution call
(unsupported signature, daemon unreachable, `BOO_DISABLE=1`) the call goes to the native
MIOpen behind the shim (`BOO_FALLBACK=native`, default) or fails (`BOO_FALLBACK=error`).

Environment: BOO_DISABLE, BOO_FALLBACK, BOO_COMPARE, BOO_LOG_CMD, BOO_LOG_FILE, BOO_VERBOSE,
BOO_DEVICE, BOO_FIND_ITERS, BOO_DAEMON_AUTOSTART, BOO_ENDPOINT (docs/shim.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections import OrderedDict
from pathlib import Path

from .. import config
from ..errors import BooError, MIOpenStatus, UnsupportedError
from .descriptors import (BadParm, ConvDesc, DataType, Handle, NotImplementedStatus, ObjectTable, Problem,
                          TensorDesc, LAYOUT_BLOCKED, packed_strides)

VERSION = (3, 4, 0)
SOLUTION_IDS = {"fwd": 1, "bwd": 2, "wrw": 3}  # as the reference library
ALGO_DIRECT = 1  # miopenConvolution*AlgoDirect: the value Find/GetSolution report
SIGNATURE_CACHE_SIZE = 4096
LOG_CMD_PREFIX = "MIOpen(HIP): Command [LogCmdConvolution] ./bin/MIOpenDriver "


class Fallback(BooError):
    """boo cannot serve this call; the native library may."""

    status = MIOpenStatus.NotImplemented

    def __init__(self, reason: str, status: MIOpenStatus = MIOpenStatus.NotImplemented):
        super().__init__(reason)
        self.status = status


def _fallback_for(e: BooError, what: str) -> BooError:
    """What a conv call makes of an error from boo: an invalid call stays BadParm (the native
    library would refuse it too); anything else is a reason to let the native library try."""
    if isinstance(e, Fallback) or e.status == MIOpenStatus.BadParm:
        return e
    if isinstance(e, UnsupportedError):
        return Fallback(f"boo does not support this convolution: {e}")
    return Fallback(f"{what}: {e}", e.status)


class _State:
    def __init__(self, ffi, lib):
        from .memory import get_memory
        from .native import NativeLib

        self.ffi, self.lib = ffi, lib
        self.table = ObjectTable()
        self.native = NativeLib(ffi, lib)
        self.memory = get_memory(ffi)
        self.disabled = config.shim_disabled()
        self.fallback = config.shim_fallback()
        if self.fallback not in ("native", "error"):
            self.log(f"BOO_FALLBACK={self.fallback!r} is not native|error; using native")
            self.fallback = "native"
        self.compare = config.shim_compare()
        self.log_cmd = config.shim_log_cmd()
        self.verbose = config.shim_verbose()
        self.find_iters = config.shim_find_iters()
        self.autostart = config.daemon_autostart()
        # Where kernels run: "daemon" (default) or "local", in this process from the daemon's
        # kernel cache (the daemon still compiles; docs/shim.md compares the two).
        self.execute = (config.execute() or "daemon").lower()
        if self.execute not in ("daemon", "local"):
            self.log(f"boo-shim: BOO_EXECUTE={self.execute!r} is not daemon|local; using daemon")
            self.execute = "daemon"
        self._local_cache_dir = self._local_target = None
        # BOO_SHIM_TRACE=path: one JSON line per served conv call with the time of each stage
        # (bench/shim_overhead.py turns them into the breakdown table).
        self.trace_path = config.shim_trace_path()
        self._trace_file = None
        self._client = None
        self._client_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._logged: set = set()
        self._log_file = None
        # problem content -> ConvSignature (building one is not free); least recently used out
        self.sigs: OrderedDict = OrderedDict()
        self.sig_lock = threading.Lock()
        from .fast import FastPath

        self.fast = FastPath(ffi, lib)  # started by install(), once every setting above is read

    # ------------------------------------------------------------------ logging
    def log(self, msg: str, once_key=None) -> None:
        with self._log_lock:
            if once_key is not None and not self.verbose:
                if once_key in self._logged:
                    return
                self._logged.add(once_key)
            path = config.shim_log_file()
            try:
                if path:
                    if self._log_file is None:
                        self._log_file = open(path, "a", buffering=1)
                    self._log_file.write(msg + "\n")
                else:
                    sys.stderr.write(msg + "\n")
                    sys.stderr.flush()
            except OSError:
                pass

    # ------------------------------------------------------------------ daemon
    @property
    def client(self):
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    from ..client import BooClient

                    self._client = BooClient(autostart=False)
        return self._client

    def daemon_call(self, fn, *args, **kw):
        """Call a BooClient method; an unreachable daemon becomes a Fallback."""
        from ..protocol import DaemonUnavailable

        try:
            return fn(*args, **kw)
        except DaemonUnavailable as e:
            if self.autostart and self._start_daemon():
                try:
                    return fn(*args, **kw)
                except DaemonUnavailable as e2:
                    raise Fallback(f"boo daemon unavailable: {e2}", MIOpenStatus.NotInitialized) from None
            raise Fallback(f"boo daemon unavailable: {e}", MIOpenStatus.NotInitialized) from None
        except BooError as e:
            raise _fallback_for(e, "boo daemon error") from None

    def local_kernel(self, sig):
        """The kernel for `sig` loaded in this process (BOO_EXECUTE=local). The daemon compiles it
        into its cache, which this process then loads from; with no daemon reachable this process
        compiles it itself (iree-compile runs as a child process, so a compiler crash cannot take
        the program down)."""
        from ..runtime import LOADED, device_for

        if self._local_cache_dir is None:
            try:
                info = self.daemon_call(self.client.hello)
            except Fallback:
                info = {}
            self._local_cache_dir = info.get("cache_dir") or ""
            self._local_target = info.get("target") or "cpu"
        cache_dir, target = self._local_cache_dir or None, self._local_target
        device = device_for(sig, target)  # small kernels on the calling thread (local-sync)
        try:
            return LOADED.get(sig, target, cache_dir=cache_dir, device_uri=device, only_cached=True)
        except LookupError:
            pass
        try:
            self.daemon_call(self.client.compile, sig)
        except Fallback as fb:
            if fb.status != MIOpenStatus.NotInitialized:
                raise
        try:
            return LOADED.get(sig, target, cache_dir=cache_dir, device_uri=device)
        except BooError as e:
            raise _fallback_for(e, "boo could not compile this convolution") from None

    def write_trace(self, record: dict) -> None:
        with self._log_lock:
            try:
                if self._trace_file is None:
                    self._trace_file = open(self.trace_path, "a", buffering=1)
                self._trace_file.write(json.dumps(record) + "\n")
            except OSError:
                self.trace_path = None

    def _start_daemon(self) -> bool:
        """BOO_DAEMON_AUTOSTART=1: start `boo-daemon` (without LD_PRELOAD, so it is not shimmed)."""
        with self._client_lock:
            if getattr(self, "_autostart_tried", False):
                return False
            self._autostart_tried = True
            env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
            python = Path(sys.prefix) / "bin" / "python"
            cmd = [str(python), "-m", "boo_daemon.cli", "start", "--endpoint", self.client.endpoint]
            try:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
            except (OSError, subprocess.SubprocessError) as e:
                self.log(f"boo-shim: could not start the boo daemon: {e}")
                return False
            if p.returncode != 0:
                self.log(f"boo-shim: could not start the boo daemon: {(p.stderr or p.stdout).strip()[-300:]}")
                return False
            self.log(f"boo-shim: started a boo daemon at {self.client.endpoint}")
            return True


S: _State | None = None


# ---------------------------------------------------------------------------------- plumbing
_ENTRIES: dict[str, tuple] = {}
_CALL = threading.local()  # the C arguments of the entry point running on this thread


def entry(kinds: str = "", role: str = "own"):
    """Register an entry point. `kinds` has one letter per C argument: H handle, T tensor
    descriptor, C convolution descriptor, anything else passed through unresolved.

    `role` says how the entry point shares the work with a native library loaded behind the
    shim (with none, our implementation alone answers):
    - "own": ours; a conv call boo cannot serve falls back to the native library;
    - "set": the native library first (its status is final), then ours; when ours cannot
      represent what the native library accepted, the object is marked unsupported and its
      conv calls go to the native library;
    - "get": the native library answers (its objects are the truth: native-only functions
      such as miopenDeriveBNTensorDescriptor may have set them).
    """

    def deco(fn):
        _ENTRIES[fn.__name__] = (fn, kinds, role)
        return fn

    return deco


def _resolve(kind: str, value):
    ffi = S.ffi
    if kind == "H":
        return S.table.get(int(ffi.cast("uintptr_t", value)), Handle, "miopenHandle_t")
    if kind == "T":
        return S.table.get(int(ffi.cast("uintptr_t", value)), TensorDesc, "miopenTensorDescriptor_t")
    if kind == "C":
        return S.table.get(int(ffi.cast("uintptr_t", value)), ConvDesc, "miopenConvolutionDescriptor_t")
    return value


def _wrap(name: str, fn, kinds: str, role: str):
    call = _wrap_call(name, fn, kinds, role)
    if role != "set" or kinds[:1] not in ("T", "C"):
        return call

    def noting(*args):
        # Whatever the outcome, C learns the descriptor's content now (fast.py): a Set that
        # failed half-way must not leave C matching the content from before it.
        try:
            return call(*args)
        finally:
            _note_descriptor(kinds[0], args[0])

    noting.__name__ = name
    return noting


def _note_descriptor(kind: str, ptr) -> None:
    if not S.fast.enabled:
        return
    try:
        S.fast.note_descriptor(_ptr(ptr), _resolve(kind, ptr))
    except BaseException:  # noqa: BLE001 - an unknown pointer (or anything else): C forgets it
        try:
            S.fast.forget_descriptor(_ptr(ptr))
        except BaseException:  # noqa: BLE001 - never let an exception reach C
            pass


def _wrap_call(name: str, fn, kinds: str, role: str):
    def wrapper(*args):
        try:
            objs = [_resolve(k, a) for k, a in zip(kinds, args)] + list(args[len(kinds):])
            if role != "own" and S.native.available and S.native.has(name):
                st = S.native.call(name, args)
                if role == "get" or st != 0:
                    return st
                try:
                    fn(*objs)
                except BooError as e:
                    objs[0].unsupported[name] = f"{name}: {e}"
                    if S.verbose:
                        S.log(f"boo-shim: {name}: accepted by the native library, not by boo ({e})")
                else:
                    objs[0].unsupported.pop(name, None)
                return 0
            _CALL.args = args
            _CALL.trace = {"fn": name, "t0": time.perf_counter()} if S.trace_path else None
            if name in _RUN_ENTRIES:
                S.fast.handle_served(_ptr(args[0]))  # (resolved above: a live handle)
            try:
                if S.disabled and name in _CONV_ENTRIES:
                    raise Fallback("BOO_DISABLE=1")
                r = fn(*objs)
            except Fallback as fb:
                return _fallback(name, args, objs, fb)
            trace = _CALL.trace
            if trace is not None and "run_us" in trace:
                trace["python_us"] = (time.perf_counter() - trace.pop("t0")) * 1e6
                S.write_trace(trace)
            return 0 if r is None else int(r)
        except BooError as e:
            if S.verbose:
                S.log(f"boo-shim: {name}: {e} -> {MIOpenStatus(int(e.status)).name}")
            return int(e.status)
        except BaseException:  # noqa: BLE001 - never let an exception reach C
            S.log(f"boo-shim: internal error in {name}:\n{traceback.format_exc()}", once_key=("internal", name))
            return int(MIOpenStatus.InternalError)

    wrapper.__name__ = name
    return wrapper


def _fallback(name: str, args: tuple, objs: list, fb: Fallback) -> int:
    handle = objs[0] if objs and isinstance(objs[0], Handle) else None
    if S.fallback != "native" or not S.native.available:
        why = "BOO_FALLBACK=error" if S.fallback != "native" else "no native MIOpen library is loaded"
        S.log(f"boo-shim: {name}: {fb} ({why}); returning {MIOpenStatus(int(fb.status)).name}",
              once_key=("nofallback", name, str(fb)))
        return int(fb.status)
    S.log(f"boo-shim: fallback to native MIOpen for {name}: {fb}", once_key=("fallback", name, type(fb).__name__,
                                                                            str(fb)[:60]))
    args = list(args)
    if name in _SOLUTION_ID_ARG:
        # our solution ids mean nothing to the native library: use its first solution
        prefix, idx, order = _SOLUTION_ID_ARG[name]
        args[idx] = S.native.first_solution(prefix, [args[0]] + [args[i] for i in order])
    return S.native.call(name, args, handle)


def install(ffi, lib) -> None:
    """Called by the embedding init code: bind every entry point."""
    global S
    S = _State(ffi, lib)
    exported = ffi.string(lib.boo_exported_names()).decode().split()
    missing = [n for n in exported if n not in _ENTRIES]
    if missing:
        raise RuntimeError(f"impl.py does not implement {missing}")
    # The conv calls' exported symbols are C (native/shim/fast_call.c); Python is behind them
    # under boo_py_<name>.
    for extern_name in ffi.string(lib.boo_python_names()).decode().split():
        name = extern_name.removeprefix("boo_py_")
        fn, kinds, role = _ENTRIES[name]
        if name == "miopenGetErrorString":
            ffi.def_extern(name=extern_name)(fn)
        else:
            ffi.def_extern(name=extern_name, error=int(MIOpenStatus.InternalError))(_wrap(name, fn, kinds, role))
    S.fast.start(S)


def _ptr(p) -> int:
    return int(S.ffi.cast("uintptr_t", p))


def _check_out(*ptrs) -> None:
    for p in ptrs:
        if p == S.ffi.NULL:
            raise BadParm("NULL output pointer")


def _create(obj, out, ctype: str, native_name: str, *native_args) -> int:
    """A new handle or descriptor. With a native library it is created there first and the
    program gets the native pointer (valid for every native-only function); ours is kept under
    that pointer. Without one, the program gets a fresh id of ours."""
    _check_out(out)
    if S.native.available:
        st = S.native.call(native_name, [out, *native_args])
        if st != 0:
            return st
        obj.native = out[0]
        S.table.add(obj, _ptr(out[0]))
    else:
        out[0] = S.ffi.cast(ctype, S.table.add(obj))
    # a native pointer can be one a destroyed object had: C must not know it as anything yet
    if isinstance(obj, Handle):
        S.fast.note_handle(_ptr(out[0]), True)
    else:
        S.fast.forget_descriptor(_ptr(out[0]))
    return 0


def _destroy(ptr, cls: type, what: str, native_name: str) -> int:
    obj = S.table.remove(_ptr(ptr), cls, what)
    if cls is Handle:
        S.fast.note_handle(_ptr(ptr), False)
    else:
        S.fast.forget_descriptor(_ptr(ptr))
    if obj.native is not None:
        return S.native.call(native_name, [obj.native])
    return 0


# ---------------------------------------------------------------------------------- handle
@entry()
def miopenGetErrorString(error):
    return S.lib.boo_c_error_string(int(error))


@entry(role="get")
def miopenGetVersion(major, minor, patch):
    for p, v in zip((major, minor, patch), VERSION):
        if p != S.ffi.NULL:
            p[0] = v


@entry()
def miopenCreate(handle):
    return _create(Handle(), handle, "miopenHandle_t", "miopenCreate")


@entry()
def miopenCreateWithStream(handle, stream):
    return _create(Handle(stream=_ptr(stream)), handle, "miopenHandle_t", "miopenCreateWithStream", stream)


@entry()
def miopenDestroy(handle):
    return _destroy(handle, Handle, "miopenHandle_t", "miopenDestroy")


@entry("H", role="set")
def miopenSetStream(h, stream):
    h.stream = _ptr(stream)


@entry("H", role="get")
def miopenGetStream(h, stream):
    _check_out(stream)
    stream[0] = S.ffi.cast("void *", h.stream)


@entry("H")
def miopenGetKernelTime(h, time_out):
    fast_ms = S.fast.last_ms(_ptr(_CALL.args[0]))
    if fast_ms is not None:  # the last conv call on this handle was served from C
        _check_out(time_out)
        time_out[0] = fast_ms if h.profiling else 0.0
        return None
    if h.last_native and S.native.available:
        return S.native.call("miopenGetKernelTime", [h.native, time_out])
    _check_out(time_out)
    time_out[0] = h.last_ms if h.profiling else 0.0


@entry("H", role="set")
def miopenEnableProfiling(h, enable):
    h.profiling = bool(enable)
    if not h.profiling:
        h.last_ms = 0.0


# ---------------------------------------------------------------------------------- tensors
@entry()
def miopenCreateTensorDescriptor(desc):
    return _create(TensorDesc(), desc, "miopenTensorDescriptor_t", "miopenCreateTensorDescriptor")


@entry()
def miopenDestroyTensorDescriptor(desc):
    return _destroy(desc, TensorDesc, "miopenTensorDescriptor_t", "miopenDestroyTensorDescriptor")


def _ints(p, n: int, what: str) -> list[int]:
    if p == S.ffi.NULL:
        raise BadParm(f"NULL {what}")
    if not 1 <= n <= 8:
        raise BadParm(f"{what}: bad count {n}")
    return [int(p[i]) for i in range(n)]


@entry("T", role="set")
def miopenSet4dTensorDescriptor(t, dtype, n, c, h, w):
    t.set(dtype, (n, c, h, w))


@entry("T", role="set")
def miopenSet4dTensorDescriptorEx(t, dtype, n, c, h, w, ns, cs, hs, ws):
    t.set(dtype, (n, c, h, w), (ns, cs, hs, ws))


@entry("T", role="set")
def miopenSetTensorDescriptor(t, dtype, nd, dims, strides):
    lens = _ints(dims, nd, "dimsA")
    t.set(dtype, lens, None if strides == S.ffi.NULL else _ints(strides, nd, "stridesA"))


@entry("T", role="set")
def miopenSetTensorDescriptorV2(t, dtype, nd, dims, strides):
    # size_t lengths and strides (large tensors); same meaning as miopenSetTensorDescriptor
    lens = _ints(dims, nd, "dimsA")
    t.set(dtype, lens, None if strides == S.ffi.NULL else _ints(strides, nd, "stridesA"))


@entry("T", role="set")
def miopenSetNdTensorDescriptorWithLayout(t, dtype, layout, lens_p, num):
    lens = _ints(lens_p, num, "lens")
    layout = int(layout)
    if layout in LAYOUT_BLOCKED:
        raise NotImplementedStatus("vectorised layouts (NCHWc4/c8, CHWNc4/c8) are not supported")
    names = {0: ("NCHW", 4), 1: ("NHWC", 4), 2: ("CHWN", 4), 7: ("NCDHW", 5), 8: ("NDHWC", 5)}
    if layout not in names:
        raise BadParm(f"unknown miopenTensorLayout_t {layout}")
    order, nd = names[layout]
    if len(lens) != nd:
        raise BadParm(f"layout {order} needs {nd} lengths, got {len(lens)}")
    if any(v <= 0 for v in lens):
        raise BadParm(f"tensor lengths must be positive, got {lens}")
    t.set(dtype, lens, packed_strides(lens, order))


@entry("T", role="get")
def miopenGet4dTensorDescriptor(t, dtype, n, c, h, w, ns, cs, hs, ws):
    t.require()
    if t.nd != 4:
        raise BadParm(f"miopenGet4dTensorDescriptor on a rank-{t.nd} tensor")
    outs = (dtype, n, c, h, w, ns, cs, hs, ws)
    _check_out(*outs)
    for p, v in zip(outs, (int(t.dtype), *t.lens, *t.strides)):
        p[0] = v


@entry("T", role="get")
def miopenGetTensorDescriptorSize(t, size):
    t.require()
    _check_out(size)
    size[0] = t.nd


@entry("T", role="get")
def miopenGetTensorDescriptor(t, dtype, dims, strides):
    t.require()
    if dtype != S.ffi.NULL:
        dtype[0] = int(t.dtype)
    for i in range(t.nd):
        if dims != S.ffi.NULL:
            dims[i] = t.lens[i]
        if strides != S.ffi.NULL:
            strides[i] = t.strides[i]


@entry("T", role="get")
def miopenGetTensorNumBytes(t, nbytes):
    t.require()
    _check_out(nbytes)
    nbytes[0] = t.num_bytes


# ---------------------------------------------------------------------------------- conv descriptors
@entry()
def miopenCreateConvolutionDescriptor(desc):
    return _create(ConvDesc(), desc, "miopenConvolutionDescriptor_t", "miopenCreateConvolutionDescriptor")


@entry()
def miopenDestroyConvolutionDescriptor(desc):
    return _destroy(desc, ConvDesc, "miopenConvolutionDescriptor_t", "miopenDestroyConvolutionDescriptor")


@entry("C", role="set")
def miopenInitConvolutionDescriptor(c, mode, pad_h, pad_w, u, v, l, j):  # noqa: E741
    c.init(2, (pad_h, pad_w), (u, v), (l, j), mode)


@entry("C", role="set")
def miopenInitConvolutionNdDescriptor(c, spatial, pad, stride, dil, mode):
    if spatial < 1:
        raise BadParm(f"spatial dim {spatial}")
    n = min(int(spatial), 8)
    c.init(spatial, _ints(pad, n, "padA"), _ints(stride, n, "strideA"), _ints(dil, n, "dilationA"), mode)


@entry("C", role="get")
def miopenGetConvolutionSpatialDim(c, spatial):
    _check_out(spatial)
    spatial[0] = c.spatial


@entry("C", role="get")
def miopenGetConvolutionDescriptor(c, mode, pad_h, pad_w, u, v, l, j):  # noqa: E741
    if c.spatial != 2:
        raise BadParm("miopenGetConvolutionDescriptor on a 3-D descriptor")
    outs = (mode, pad_h, pad_w, u, v, l, j)
    _check_out(*outs)
    for p, val in zip(outs, (c.mode, *c.pad, *c.stride, *c.dilation)):
        p[0] = val


@entry("C", role="get")
def miopenGetConvolutionNdDescriptor(c, requested, spatial, pad, stride, dil, mode):
    if requested < c.spatial:
        raise BadParm(f"requested {requested} spatial dims < {c.spatial}")
    _check_out(spatial, pad, stride, dil, mode)
    spatial[0] = c.spatial
    for i in range(c.spatial):
        pad[i], stride[i], dil[i] = c.pad[i], c.stride[i], c.dilation[i]
    mode[0] = c.mode


@entry("C", role="get")
def miopenGetConvolutionGroupCount(c, groups):
    _check_out(groups)
    groups[0] = c.groups


@entry("C", role="set")
def miopenSetConvolutionGroupCount(c, groups):
    c.set_groups(groups)


@entry("C", role="set")
def miopenSetTransposeConvOutputPadding(c, adj_h, adj_w):
    c.set_adj(2, (adj_h, adj_w))


@entry("C", role="set")
def miopenSetTransposeConvNdOutputPadding(c, spatial, adj):
    c.set_adj(spatial, _ints(adj, max(1, min(int(spatial), 8)), "adjA"))


@entry("C", role="set")
def miopenSetConvolutionAttribute(c, attr, value):
    c.set_attribute(attr, value)


@entry("C", role="get")
def miopenGetConvolutionAttribute(c, attr, value):
    _check_out(value)
    value[0] = c.get_attribute(attr)


@entry("C", role="set")
def miopenSetConvolutionFindMode(c, mode):
    c.set_find_mode(mode)


@entry("C", role="get")
def miopenGetConvolutionFindMode(c, mode):
    _check_out(mode)
    mode[0] = c.find_mode


@entry("CTT", role="get")
def miopenGetConvolutionForwardOutputDim(c, x, w, n, ch, h, wd):
    _check_out(n, ch, h, wd)
    if c.spatial != 2:
        raise BadParm("miopenGetConvolutionForwardOutputDim on a 3-D descriptor")
    out = c.forward_output_lens(x, w)
    for p, v in zip((n, ch, h, wd), out):
        p[0] = v


@entry("CTT", role="get")
def miopenGetConvolutionNdForwardOutputDim(c, x, w, nd, dims):
    _check_out(nd, dims)
    out = c.forward_output_lens(x, w)
    nd[0] = len(out)
    for i, v in enumerate(out):
        dims[i] = v


# ---------------------------------------------------------------------------------- convolutions
def _signature(p: Problem):
    """ConvSignature for a problem, cached by descriptor content (a destroyed descriptor's id can
    come back for a new one, so ids are never part of the key); Fallback if boo cannot do it."""
    why = p.why_unsupported()
    if why:
        raise Fallback(f"boo cannot represent this call's descriptors: {why}")
    key = p.key()
    with S.sig_lock:
        sig = S.sigs.get(key)
        if sig is not None:
            S.sigs.move_to_end(key)
    if sig is None:
        p.validate()  # BadParm for invalid calls (no fallback: the call is wrong)
        try:
            sig = p.signature()
        except (UnsupportedError, NotImplementedStatus) as e:
            raise Fallback(f"boo does not support this convolution: {e}") from None
        with S.sig_lock:
            S.sigs[key] = sig
            while len(S.sigs) > SIGNATURE_CACHE_SIZE:
                S.sigs.popitem(last=False)
    if S.log_cmd:
        S.log(LOG_CMD_PREFIX + sig.to_command())
    return sig


def _scalar(p, dtype: DataType, what: str) -> float:
    if p == S.ffi.NULL:
        raise BadParm(f"NULL {what}")
    return float(S.ffi.cast("double *" if dtype == DataType.Double else "float *", p)[0])


def _inputs(p: Problem, ptrs: dict):
    """Input arrays (layout order) for the signature's direction."""
    mem = S.memory
    if p.direction == "fwd":
        return [mem.read(ptrs["x"], p.x), mem.read(ptrs["w"], p.w)]
    if p.direction == "bwd":
        return [mem.read(ptrs["y"], p.y), mem.read(ptrs["w"], p.w)]
    return [mem.read(ptrs["y"], p.y), mem.read(ptrs["x"], p.x)]


def _run_boo(h: Handle, p: Problem, sig, ptrs: dict, alpha: float, beta: float) -> float:
    """Run (on the daemon, or here with BOO_EXECUTE=local) and store into the destination:
    dst = alpha * conv + beta * dst."""
    import numpy as np

    mem = S.memory
    dst_desc, dst_ptr = p.dest, ptrs[{"fwd": "y", "bwd": "x", "wrw": "w"}[p.direction]]
    for k in ("x", "w", "y"):
        if not ptrs[k]:
            raise BadParm(f"NULL {k} tensor pointer")
    trace = _CALL.trace if S.trace_path else None
    if trace is not None:
        trace["lookup_us"] = (time.perf_counter() - trace["t0"]) * 1e6
    t_views = time.perf_counter()
    arrays = _inputs(p, ptrs)
    out_view = mem.layout_view(dst_ptr, dst_desc)
    t0 = time.perf_counter()
    if trace is not None:
        trace["views_us"] = (t0 - t_views) * 1e6
    if S.execute == "local":
        kernel = S.local_kernel(sig)

        def run(*a, out=None):
            r = kernel.call(*a, out=out)  # shapes and dtypes come from the signature
            if trace is not None:
                trace["kernel_us"] = kernel.last_seconds * 1e6
            return r
    else:
        def run(*a, out=None):
            return S.daemon_call(S.client.run, sig, *a, out=out, timings=trace)
    if alpha == 1.0 and beta == 0.0:
        run(*arrays, out=out_view)
        if S.fast.enabled and S.execute == "daemon" and all(
                mem.packed(d) for d in (p.x, p.w, p.y)):
            try:
                S.fast.offer(p, sig, S.client, (arrays[0].nbytes, arrays[1].nbytes), out_view.nbytes)
            except Exception as e:  # noqa: BLE001 - the call itself succeeded: never turn it into an error
                S.log(f"boo-shim: the C hot path is not offered this call: {type(e).__name__}: {e}",
                      once_key=("fast-offer", type(e).__name__))
    else:
        res = run(*arrays)
        acc = alpha * res.astype(np.float64)
        if beta != 0.0:
            acc += beta * out_view.astype(np.float64)
        np.copyto(out_view, acc, casting="unsafe")
    ms = (time.perf_counter() - t0) * 1e3
    if trace is not None:
        trace["run_us"] = ms * 1e3
    h.last_ms = ms
    h.last_native = False
    return ms


def _conv_call(name: str, h: Handle, p: Problem, ptrs: dict, alpha: float, beta: float):
    sig = _signature(p)
    if not S.compare:
        _run_boo(h, p, sig, ptrs, alpha, beta)
        return
    # BOO_COMPARE=1: the native library runs into a scratch copy of the destination first
    mem = S.memory
    dst_key = {"fwd": "y", "bwd": "x", "wrw": "w"}[p.direction]
    dst_desc = p.dest
    scratch, keep = mem.scratch_copy(ptrs[dst_key], dst_desc)
    args = list(_CALL.args)  # the program's own arguments: valid for the native library
    idx = _DEST_ARG[name]
    args[idx] = S.ffi.cast("void *", scratch)
    if name in _SOLUTION_ID_ARG:
        prefix, sidx, order = _SOLUTION_ID_ARG[name]
        args[sidx] = S.native.first_solution(prefix, [args[0]] + [args[i] for i in order])
    native_ms = None
    try:
        st = S.native.call(name, args)
        t0 = time.perf_counter()
        st = S.native.call(name, args)  # second call: the timed one (first may set up)
        native_ms = (time.perf_counter() - t0) * 1e3
        if st != 0:
            S.log(f"boo-shim: compare {name}: native returned status {st}")
            native_ms = None
    except BooError as e:
        S.log(f"boo-shim: compare {name}: no native result ({e})", once_key=("compare-native", name))
    boo_ms = _run_boo(h, p, sig, ptrs, alpha, beta)
    if native_ms is None:
        return
    from ..numerics import miopen_error
    from ..runtime import to_torch
    import numpy as np

    ours = mem.read(ptrs[dst_key], dst_desc)
    theirs = mem.read(scratch, dst_desc)
    err = miopen_error(to_torch(np.ascontiguousarray(ours)), to_torch(np.ascontiguousarray(theirs)))
    S.log(f"boo-shim: compare {name} boo={boo_ms:.3f}ms native={native_ms:.3f}ms miopen_error={err:.3g} "
          f"[{sig.to_command()}]")
    del keep


def _find(h: Handle, p: Problem, request, returned, perf, field: str, ptrs: dict):
    if request < 1 or returned == S.ffi.NULL or perf == S.ffi.NULL:
        raise BadParm("Find needs requestAlgoCount >= 1 and non-NULL returnedAlgoCount/perfResults")
    sig = _signature(p)
    if S.execute == "local":
        # Timed where it will run, on the program's own buffers (MIOpen's Find also writes the
        # destination).
        ms = min(_run_boo(h, p, sig, ptrs, 1.0, 0.0) for _ in range(max(1, S.find_iters)))
    else:
        S.daemon_call(S.client.compile, sig)
        res = S.daemon_call(S.client.find, sig, S.find_iters)
        ms = float(res.get("min_ms", res.get("median_ms", 0.0)))
    S.ffi.memmove(perf, bytes(S.ffi.sizeof("miopenConvAlgoPerf_t")), S.ffi.sizeof("miopenConvAlgoPerf_t"))
    setattr(perf[0], field, ALGO_DIRECT)
    perf[0].time = ms
    perf[0].memory = 0
    returned[0] = 1
    h.last_ms = ms


def _solution_count(p: Problem, count):
    _check_out(count)
    _signature(p)
    count[0] = 1


def _get_solution(p: Problem, max_count, count, sols):
    if max_count < 1:
        raise BadParm("maxSolutionCount < 1")
    _check_out(count, sols)
    _signature(p)
    S.ffi.memmove(sols, bytes(S.ffi.sizeof("miopenConvSolution_t")), S.ffi.sizeof("miopenConvSolution_t"))
    sols[0].time = 0.0
    sols[0].workspace_size = 0
    sols[0].solution_id = SOLUTION_IDS[p.direction]
    sols[0].algorithm = ALGO_DIRECT
    count[0] = 1


def _check_solution(p: Problem, solution_id: int):
    if int(solution_id) != SOLUTION_IDS[p.direction]:
        raise BadParm(f"solution id {solution_id} is not boo's {p.direction} solution "
                      f"({SOLUTION_IDS[p.direction]})")


def _ws_out(p: Problem, solution_id, ws):
    _check_out(ws)
    _signature(p)
    _check_solution(p, solution_id)
    ws[0] = 0


def _compile(p: Problem, solution_id):
    sig = _signature(p)
    _check_solution(p, solution_id)
    if S.execute == "local":
        S.local_kernel(sig)
    else:
        S.daemon_call(S.client.compile, sig)


def _workspace(p: Problem, ws):
    _check_out(ws)
    _signature(p)
    ws[0] = 0


# Entry points that carry a solution id: (GetSolution prefix, index of the id, indices of the
# problem's (desc, desc, conv, desc) in the GetSolution argument order), to translate our ids
# into the native library's on fallback.
_SOLUTION_ID_ARG = {}
for _d in ("Forward", "BackwardData", "BackwardWeights"):
    _pre = f"miopenConvolution{_d}"
    _SOLUTION_ID_ARG[_pre + "GetSolutionWorkspaceSize"] = (_pre, 5, [1, 2, 3, 4])
    _SOLUTION_ID_ARG[_pre + "CompileSolution"] = (_pre, 5, [1, 2, 3, 4])
    _SOLUTION_ID_ARG[_pre + "Immediate"] = (_pre, 10, [1, 3, 5, 6])

# destination pointer argument index per running entry point (compare mode)
_DEST_ARG = {
    "miopenConvolutionForward": 10, "miopenConvolutionBackwardData": 10, "miopenConvolutionBackwardWeights": 10,
    "miopenConvolutionForwardImmediate": 7, "miopenConvolutionBackwardDataImmediate": 7,
    "miopenConvolutionBackwardWeightsImmediate": 7,
}


# ---- immediate mode: forward ----
@entry("HTTCT")
def miopenConvolutionForwardGetSolutionCount(h, w, x, c, y, count):
    _solution_count(Problem("fwd", c, x, w, y), count)


@entry("HTTCT")
def miopenConvolutionForwardGetSolution(h, w, x, c, y, max_count, count, sols):
    _get_solution(Problem("fwd", c, x, w, y), max_count, count, sols)


@entry("HTTCT")
def miopenConvolutionForwardGetSolutionWorkspaceSize(h, w, x, c, y, sid, ws):
    _ws_out(Problem("fwd", c, x, w, y), sid, ws)


@entry("HTTCT")
def miopenConvolutionForwardCompileSolution(h, w, x, c, y, sid):
    _compile(Problem("fwd", c, x, w, y), sid)


@entry("HT-T-CT")
def miopenConvolutionForwardImmediate(h, wd, w, xd, x, c, yd, y, ws, wss, sid):
    p = Problem("fwd", c, xd, wd, yd)
    _check_solution(p, sid)
    _conv_call("miopenConvolutionForwardImmediate", h, p, {"x": _ptr(x), "w": _ptr(w), "y": _ptr(y)}, 1.0, 0.0)


# ---- immediate mode: backward data ----
@entry("HTTCT")
def miopenConvolutionBackwardDataGetSolutionCount(h, dyd, wd, c, dxd, count):
    _solution_count(Problem("bwd", c, dxd, wd, dyd), count)


@entry("HTTCT")
def miopenConvolutionBackwardDataGetSolution(h, dyd, wd, c, dxd, max_count, count, sols):
    _get_solution(Problem("bwd", c, dxd, wd, dyd), max_count, count, sols)


@entry("HTTCT")
def miopenConvolutionBackwardDataGetSolutionWorkspaceSize(h, dyd, wd, c, dxd, sid, ws):
    _ws_out(Problem("bwd", c, dxd, wd, dyd), sid, ws)


@entry("HTTCT")
def miopenConvolutionBackwardDataCompileSolution(h, dyd, wd, c, dxd, sid):
    _compile(Problem("bwd", c, dxd, wd, dyd), sid)


@entry("HT-T-CT")
def miopenConvolutionBackwardDataImmediate(h, dyd, dy, wd, w, c, dxd, dx, ws, wss, sid):
    p = Problem("bwd", c, dxd, wd, dyd)
    _check_solution(p, sid)
    _conv_call("miopenConvolutionBackwardDataImmediate", h, p, {"x": _ptr(dx), "w": _ptr(w), "y": _ptr(dy)},
               1.0, 0.0)


# ---- immediate mode: backward weights ----
@entry("HTTCT")
def miopenConvolutionBackwardWeightsGetSolutionCount(h, dyd, xd, c, dwd, count):
    _solution_count(Problem("wrw", c, xd, dwd, dyd), count)


@entry("HTTCT")
def miopenConvolutionBackwardWeightsGetSolution(h, dyd, xd, c, dwd, max_count, count, sols):
    _get_solution(Problem("wrw", c, xd, dwd, dyd), max_count, count, sols)


@entry("HTTCT")
def miopenConvolutionBackwardWeightsGetSolutionWorkspaceSize(h, dyd, xd, c, dwd, sid, ws):
    _ws_out(Problem("wrw", c, xd, dwd, dyd), sid, ws)


@entry("HTTCT")
def miopenConvolutionBackwardWeightsCompileSolution(h, dyd, xd, c, dwd, sid):
    _compile(Problem("wrw", c, xd, dwd, dyd), sid)


@entry("HT-T-CT")
def miopenConvolutionBackwardWeightsImmediate(h, dyd, dy, xd, x, c, dwd, dw, ws, wss, sid):
    p = Problem("wrw", c, xd, dwd, dyd)
    _check_solution(p, sid)
    _conv_call("miopenConvolutionBackwardWeightsImmediate", h, p, {"x": _ptr(x), "w": _ptr(dw), "y": _ptr(dy)},
               1.0, 0.0)


# ---- find mode: forward ----
@entry("HTTCT")
def miopenConvolutionForwardGetWorkSpaceSize(h, wd, xd, c, yd, ws):
    _workspace(Problem("fwd", c, xd, wd, yd), ws)


@entry("HT-T-CT")
def miopenFindConvolutionForwardAlgorithm(h, xd, x, wd, w, c, yd, y, request, returned, perf, ws, wss, exhaustive):
    _find(h, Problem("fwd", c, xd, wd, yd), request, returned, perf, "fwd_algo",
          {"x": _ptr(x), "w": _ptr(w), "y": _ptr(y)})


@entry("H-T-T-C--T")
def miopenConvolutionForward(h, alpha, xd, x, wd, w, c, algo, beta, yd, y, ws, wss):
    p = Problem("fwd", c, xd, wd, yd)
    a, b = _scalar(alpha, xd.dtype, "alpha"), _scalar(beta, xd.dtype, "beta")
    _conv_call("miopenConvolutionForward", h, p, {"x": _ptr(x), "w": _ptr(w), "y": _ptr(y)}, a, b)


def _bias_lens_ok(b: TensorDesc, y: TensorDesc) -> None:
    if y.nd < 3 or b.nd != y.nd or b.dtype != y.dtype or any(
            bl != (y.lens[1] if i == 1 else 1) for i, bl in enumerate(b.lens)):
        raise BadParm(f"bias tensor {list(b.lens)} does not match data tensor {list(y.lens)} (want 1xCx1..)")


def _bias_views(yd: TensorDesc, y, bd: TensorDesc, b):
    from .descriptors import BOO_DTYPES

    if yd.dtype not in BOO_DTYPES and yd.dtype != DataType.Double:
        raise Fallback(f"bias in dtype {yd.dtype.name}")
    return S.memory.logical_view(_ptr(y), yd), S.memory.logical_view(_ptr(b), bd)


@entry("H-T--T")
def miopenConvolutionForwardBias(h, alpha, bd, b, beta, yd, y):
    """y = alpha * y + alpha * b + beta * y (MIOpen's OpTensor Add), computed here."""
    import numpy as np

    bd.require("bias")
    yd.require("output")
    _bias_lens_ok(bd, yd)
    a, bt = _scalar(alpha, yd.dtype, "alpha"), _scalar(beta, yd.dtype, "beta")
    t0 = time.perf_counter()
    yv, bv = _bias_views(yd, y, bd, b)
    yy = yv.astype(np.float64)
    res = a * yy + a * bv.astype(np.float64) + bt * yy
    np.copyto(yv, res, casting="unsafe")
    h.last_ms = (time.perf_counter() - t0) * 1e3


# ---- find mode: backward data ----
@entry("HTTCT")
def miopenConvolutionBackwardDataGetWorkSpaceSize(h, dyd, wd, c, dxd, ws):
    _workspace(Problem("bwd", c, dxd, wd, dyd), ws)


@entry("HT-T-CT")
def miopenFindConvolutionBackwardDataAlgorithm(h, dyd, dy, wd, w, c, dxd, dx, request, returned, perf, ws, wss,
                                               exhaustive):
    _find(h, Problem("bwd", c, dxd, wd, dyd), request, returned, perf, "bwd_data_algo",
          {"x": _ptr(dx), "w": _ptr(w), "y": _ptr(dy)})


@entry("H-T-T-C--T")
def miopenConvolutionBackwardData(h, alpha, dyd, dy, wd, w, c, algo, beta, dxd, dx, ws, wss):
    p = Problem("bwd", c, dxd, wd, dyd)
    a, b = _scalar(alpha, dyd.dtype, "alpha"), _scalar(beta, dyd.dtype, "beta")
    _conv_call("miopenConvolutionBackwardData", h, p, {"x": _ptr(dx), "w": _ptr(w), "y": _ptr(dy)}, a, b)


# ---- find mode: backward weights ----
@entry("HTTCT")
def miopenConvolutionBackwardWeightsGetWorkSpaceSize(h, dyd, xd, c, dwd, ws):
    _workspace(Problem("wrw", c, xd, dwd, dyd), ws)


@entry("HT-T-CT")
def miopenFindConvolutionBackwardWeightsAlgorithm(h, dyd, dy, xd, x, c, dwd, dw, request, returned, perf, ws, wss,
                                                  exhaustive):
    _find(h, Problem("wrw", c, xd, dwd, dyd), request, returned, perf, "bwd_weights_algo",
          {"x": _ptr(x), "w": _ptr(dw), "y": _ptr(dy)})


@entry("H-T-T-C--T")
def miopenConvolutionBackwardWeights(h, alpha, dyd, dy, xd, x, c, algo, beta, dwd, dw, ws, wss):
    p = Problem("wrw", c, xd, dwd, dyd)
    a, b = _scalar(alpha, dyd.dtype, "alpha"), _scalar(beta, dyd.dtype, "beta")
    _conv_call("miopenConvolutionBackwardWeights", h, p, {"x": _ptr(x), "w": _ptr(dw), "y": _ptr(dy)}, a, b)


@entry("H-T--T")
def miopenConvolutionBackwardBias(h, alpha, dyd, dy, beta, dbd, db):
    """db = alpha * sum over (N, spatial) of dy + beta * db, computed here."""
    import numpy as np

    dyd.require("dy")
    dbd.require("db")
    _bias_lens_ok(dbd, dyd)
    a, bt = _scalar(alpha, dyd.dtype, "alpha"), _scalar(beta, dyd.dtype, "beta")
    t0 = time.perf_counter()
    dyv, dbv = _bias_views(dyd, dy, dbd, db)
    axes = tuple(i for i in range(dyd.nd) if i != 1)
    s = dyv.astype(np.float64).sum(axis=axes, keepdims=True)
    res = a * s
    if bt != 0.0:
        res = res + bt * dbv.astype(np.float64)
    np.copyto(dbv, res, casting="unsafe")
    h.last_ms = (time.perf_counter() - t0) * 1e3


# entry points that go through boo (and so may fall back / are disabled by BOO_DISABLE)
# the entry points that run a convolution (and so set the time miopenGetKernelTime reports)
_RUN_ENTRIES = {f"miopenConvolution{d}{m}" for d in ("Forward", "BackwardData", "BackwardWeights")
                for m in ("", "Immediate")} | {f"miopenFindConvolution{d}Algorithm"
                                               for d in ("Forward", "BackwardData", "BackwardWeights")}
_CONV_ENTRIES = {n for n in list(_ENTRIES) if n.startswith(("miopenConvolutionForward", "miopenConvolutionBackward",
                                                             "miopenFind"))}
