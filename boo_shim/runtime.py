"""Loaded kernels on the IREE runtime, and the in-memory cache in front of the disk cache.

`get_kernel(sig, target)` is what callers (the driver, the daemon) use: it returns a `Kernel`
whose `run` takes numpy arrays (or torch CPU tensors) and returns the result. Inputs are handed
to IREE by importing their host memory where the device allows it (no copy on CPU), and the
result comes back as a view of the buffer IREE wrote (no copy either).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import dtypes
from .cache import CorruptEntry, KernelCache
from .compile import CompiledKernel, compile_signature
from .conv import ConvSignature
from .errors import BooError, SignatureError
from .lowering import OUTPUT_ENTRY_SUFFIX
from .targets import Target, parse_target

__all__ = ["Kernel", "PreparedCall", "LoadedKernels", "get_kernel", "numpy_dtype", "to_numpy", "LOADED"]


def numpy_dtype(torch_dtype) -> np.dtype:
    return dtypes.by_torch(torch_dtype).numpy


def to_numpy(t) -> np.ndarray:
    """A numpy view of a CPU torch tensor (bf16 included), or the array itself."""
    if isinstance(t, np.ndarray):
        return t
    import torch

    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.detach().contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.detach().contiguous().numpy()


def to_torch(a: np.ndarray):
    import ml_dtypes
    import torch

    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


_ALIGN = 64


def aligned(a: np.ndarray) -> np.ndarray:
    """`a`, or a copy of it at a 64-byte aligned address: IREE's CPU kernels use aligned vector
    loads on imported host buffers and fault on a pointer that is not (zmq frames rarely are)."""
    if a.ctypes.data % _ALIGN == 0 or a.nbytes == 0:
        return a
    raw = np.empty(a.nbytes + _ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % _ALIGN
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    np.copyto(out, a)
    return out


class _Owner:
    """Keeps IREE's mapping and buffer view alive for as long as a numpy view of them lives.

    The array `MappedMemory.asarray` returns ends in a memoryview with no owner; what keeps the
    memory alive is inside the binding. Arrays made from this object have it as their base, so
    the lifetime is ours to see and does not rest on that detail.
    """

    def __init__(self, view: np.ndarray, keep: tuple):
        self.__array_interface__ = view.__array_interface__
        self._view = view
        self._keep = keep


class _Device:
    """One IREE VM instance + HAL device per driver, shared by every kernel on it."""

    def __init__(self, driver: str, device_uri: str | None = None):
        import iree.runtime as rt

        self.rt = rt
        self.driver = driver
        self.instance = rt.VmInstance()
        self.device = rt.get_device(device_uri or driver)
        self.hal_module = rt.create_hal_module(self.instance, self.device)
        self.import_ok = driver.startswith("local")


@dataclass
class Kernel:
    """A compiled signature, loaded and callable. Thread-safe for concurrent `run`s."""

    signature: ConvSignature
    compiled: CompiledKernel
    _dev: _Device = field(repr=False)
    _ctx: object = field(repr=False)
    _fn: object = field(repr=False)
    # The module's `<func>_into` (the result written into storage the caller passes), or None
    # for kernels compiled without it (the exporter's IR, caches from before it existed).
    _fn_into: object = field(default=None, repr=False)
    last_seconds: float = 0.0
    # One PreparedCall per thread (`prepared()`); shapes worked out once, not per call.
    _per_thread: threading.local = field(default_factory=threading.local, repr=False)
    _result_shape: tuple = field(default=(), repr=False)
    _result_nbytes: int = field(default=0, repr=False)

    def __post_init__(self):
        self._result_shape = tuple(self.signature.result_shape)
        self._result_nbytes = int(np.prod(self._result_shape)) * self.in_dtype.itemsize

    @property
    def in_dtype(self) -> np.dtype:
        return numpy_dtype(self.signature.dtype)

    def prepared(self) -> "PreparedCall | None":
        """This thread's PreparedCall of the kernel, or None where it does not pay: a device that
        cannot import host memory, or tensors so big that the extra copy in costs more than the
        per-call setup it saves."""
        prep = getattr(self._per_thread, "call", False)
        if prep is False:
            sizes = [int(np.prod(s)) * self.in_dtype.itemsize for s in self.signature.arg_shapes]
            ok = self._dev.import_ok and all(sizes) and sum(sizes) <= PREPARED_MAX_BYTES
            prep = self._per_thread.call = PreparedCall(self) if ok else None
        return prep

    def check_inputs(self, inputs: list[np.ndarray]) -> None:
        shapes = self.signature.arg_shapes
        if len(inputs) != len(shapes):
            raise SignatureError("inputs", f"expected {len(shapes)} tensors, got {len(inputs)}")
        for i, (a, shape) in enumerate(zip(inputs, shapes)):
            if tuple(a.shape) != tuple(shape):
                raise SignatureError("inputs", f"tensor {i}: shape {list(a.shape)} != expected {list(shape)}")
            if a.dtype != self.in_dtype:
                raise SignatureError("inputs", f"tensor {i}: dtype {a.dtype} != expected {self.in_dtype}")

    def _buffer_view(self, a: np.ndarray):
        rt = self._dev.rt
        a = np.ascontiguousarray(a)
        et = rt.array_interop.map_dtype_to_element_type(a.dtype)
        alloc = self._dev.device.allocator
        if self._dev.import_ok:
            a = aligned(a)
            buf = alloc.import_host_allocation(
                a, memory_type=rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE,
                allowed_usage=rt.BufferUsage.DEFAULT,
            )
            return rt.HalBufferView(buf, a.shape, et), a
        bv = alloc.allocate_buffer_copy(
            memory_type=rt.MemoryType.DEVICE_LOCAL, allowed_usage=rt.BufferUsage.DEFAULT,
            device=self._dev.device, buffer=a, element_type=et,
        )
        return bv, a

    def arg_list(self, arrays: list[np.ndarray]) -> tuple[object, list[np.ndarray]]:
        """The VM argument list for `arrays`, and the arrays it imported (keep them alive)."""
        args = self._dev.rt.VmVariantList(len(arrays))
        keep = []
        for a in arrays:
            bv, held = self._buffer_view(a)
            keep.append(held)
            args.push_ref(bv)
        return args, keep

    def writes_into(self, out: np.ndarray | None, inputs: list[np.ndarray] = ()) -> bool:
        """Whether `run(..., out=out)` has the kernel write its result straight into `out` (no
        fresh buffer, no copy): the module has the output entry, the device uses host memory as
        it is, and `out` is the result's packed, aligned, writable array, apart from `inputs`
        (a kernel writing over what it still reads would compute garbage)."""
        return (self._fn_into is not None and out is not None and self._dev.import_ok
                and out.shape == self._result_shape and out.dtype == self.in_dtype
                and out.flags.c_contiguous and out.flags.writeable and out.nbytes > 0
                and out.ctypes.data % _ALIGN == 0
                and not any(np.may_share_memory(out, a) for a in inputs))

    def run(self, *inputs, out: np.ndarray | None = None, check: bool = True) -> np.ndarray:
        """Run on numpy arrays or torch CPU tensors; returns a numpy array (written into `out`
        when given: how the daemon fills shared memory). Where `writes_into(out)`, the kernel
        writes there itself; otherwise the result is copied in."""
        rt = self._dev.rt
        arrays = [to_numpy(a) for a in inputs]
        if check:
            self.check_inputs(arrays)
        args, keep = self.arg_list(arrays)  # `keep` holds the imported memory until the call ends
        if self.writes_into(out, arrays):
            args.push_ref(self._buffer_view(out)[0])
            rets = rt.VmVariantList(1)
            t0 = time.perf_counter()
            self._ctx.invoke(self._fn_into, args, rets)
            self.last_seconds = time.perf_counter() - t0
            return out
        rets = rt.VmVariantList(1)
        t0 = time.perf_counter()
        self._ctx.invoke(self._fn, args, rets)
        bv = rets.get_as_object(0, rt.HalBufferView)
        result = self._read(bv)
        self.last_seconds = time.perf_counter() - t0
        if out is not None:
            if out.shape != result.shape or out.dtype != result.dtype:
                raise SignatureError("out", f"output buffer {out.shape}/{out.dtype} != {result.shape}/{result.dtype}")
            np.copyto(out, result)
            return out
        return result

    def call(self, *inputs, out: np.ndarray | None = None) -> np.ndarray:
        """Run on arrays of the signature's shapes and dtype, the quickest way this thread can:
        through its PreparedCall for a small kernel, else `run` without checks."""
        prepared = self.prepared()
        if prepared is None:
            return self.run(*inputs, out=out, check=False)
        result = prepared(*inputs, out=out)
        self.last_seconds = prepared.last_seconds
        return result

    def _read(self, bv) -> np.ndarray:
        shape = self._result_shape
        if self._dev.import_ok:
            # The result is IREE's own fresh buffer for this call: hand it out in place rather
            # than copy it (a copy of an 8 MB output cost 0.7 ms of a 2.3 ms call; see
            # bench/call_overhead.py).
            mapped = bv.map()
            raw = np.asarray(_Owner(mapped.asarray((self._result_nbytes,), _BYTES), (mapped, bv)))
            return raw.view(self.in_dtype).reshape(shape)
        from iree.runtime.array_interop import DeviceArray

        return np.array(DeviceArray(self._dev.device, bv, override_dtype=self.in_dtype).to_host(), copy=True)

    def run_dlpack(self, *tensors):
        """Run on torch tensors already on this kernel's device, without copies.

        Each input's memory is imported into IREE's HAL through DLPack (a torch CUDA tensor's
        device pointer becomes an IREE CUDA buffer in this process) and the result comes back
        the same way, as a torch tensor on the inputs' device. IREE runs on its own stream,
        which does not wait for torch's, so the producer's stream is synchronized first; the
        call is synchronous, so the result is complete on return. Works for CPU tensors on a
        `local-*` device too (tests/test_gpu_prep.py checks it there).
        """
        import torch

        rt = self._dev.rt
        dev = self._dev.device
        held = [t.detach().contiguous() for t in tensors]
        where = held[0].device if held else torch.device("cpu")
        if where.type == "cuda":
            torch.cuda.current_stream(where).synchronize()
        args = rt.VmVariantList(len(held))
        for t in held:
            args.push_ref(dev.from_dlpack_capsule(t.__dlpack__()))
        rets = rt.VmVariantList(1)
        t0 = time.perf_counter()
        self._ctx.invoke(self._fn, args, rets)
        self.last_seconds = time.perf_counter() - t0
        bv = rets.get_as_object(0, rt.HalBufferView)
        # DLPack device codes: 1 CPU, 2 CUDA.
        code, index = (2, where.index or 0) if where.type == "cuda" else (1, 0)
        return torch.from_dlpack(dev.create_dlpack_capsule(bv, code, index))

    def __call__(self, *inputs):
        """torch in -> torch out; numpy in -> numpy out."""
        result = self.run(*inputs)
        if inputs and not isinstance(inputs[0], np.ndarray):
            return to_torch(result)
        return result


_BYTES = np.dtype(np.uint8)
# Inputs up to this many bytes in all go through a PreparedCall (copied into buffers imported
# once); bigger ones are imported where they lie (`Kernel.run`), as a copy would cost more.
PREPARED_MAX_BYTES = 1 << 20


class PreparedCall:
    """A kernel's argument list made once: input buffers allocated aligned and imported into IREE
    when this is built, so a call is a copy in per input, the invoke and a copy out. Building the
    list afresh (`Kernel.run`) costs ~70 us of Python a call against a ~13 us invoke of a tiny
    conv (2-core VM): this is the hot path of small kernels. Not thread-safe; `Kernel.prepared()`
    gives each thread its own."""

    def __init__(self, kernel: Kernel):
        rt = kernel._dev.rt
        self._rt, self._ctx, self._fn = rt, kernel._ctx, kernel._fn
        self.dtype = kernel.in_dtype
        self.in_shapes = [tuple(s) for s in kernel.signature.arg_shapes]
        self.result_shape, self.result_nbytes = kernel._result_shape, kernel._result_nbytes
        self._inputs = [aligned(np.zeros(s, self.dtype)) for s in self.in_shapes]
        self._input_bytes = [memoryview(a.reshape(-1).view(np.uint8)) for a in self._inputs]
        self.in_nbytes = tuple(len(b) for b in self._input_bytes)
        et = rt.array_interop.map_dtype_to_element_type(self.dtype)
        alloc = kernel._dev.device.allocator
        # With the module's output entry the result lands in a buffer of ours, imported once
        # too: no result buffer allocated and mapped per call.
        self._into = kernel._fn_into
        self._result = aligned(np.zeros(self.result_shape, self.dtype)) if self._into is not None else None
        held = self._inputs + ([self._result] if self._result is not None else [])
        self._args = rt.VmVariantList(len(held))
        for a in held:
            buf = alloc.import_host_allocation(a, memory_type=rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE,
                                               allowed_usage=rt.BufferUsage.DEFAULT)
            self._args.push_ref(rt.HalBufferView(buf, a.shape, et))
        self.last_seconds = 0.0

    def __call__(self, *inputs, out: np.ndarray | None = None) -> np.ndarray:
        """Run on `inputs`: numpy arrays of the kernel's shapes and dtype (any strides), or raw
        bytes of exactly the right size (a received frame). Returns a new array, or fills `out`."""
        if len(inputs) != len(self._inputs):
            raise SignatureError("inputs", f"expected {len(self._inputs)} tensors, got {len(inputs)}")
        for held, held_bytes, src in zip(self._inputs, self._input_bytes, inputs):
            if isinstance(src, np.ndarray):
                if src.shape != held.shape or src.dtype != held.dtype:
                    raise SignatureError("inputs", f"{src.dtype}{list(src.shape)} != expected {held.dtype}"
                                                   f"{list(held.shape)}")
                np.copyto(held, src)
            else:
                held_bytes[:] = src  # ValueError on a size mismatch: callers check sizes first
        rets = self._rt.VmVariantList(1)
        t0 = time.perf_counter()
        if self._result is not None:
            self._ctx.invoke(self._into, self._args, rets)
            self.last_seconds = time.perf_counter() - t0
            result = self._result
        else:
            self._ctx.invoke(self._fn, self._args, rets)
            self.last_seconds = time.perf_counter() - t0
            mapped = rets.get_as_object(0, self._rt.HalBufferView).map()
            result = mapped.asarray((self.result_nbytes,), _BYTES).view(self.dtype).reshape(self.result_shape)
        if out is not None:
            if out.shape != result.shape or out.dtype != result.dtype:
                raise SignatureError("out", f"output buffer {out.shape}/{out.dtype} != {result.shape}/{result.dtype}")
            np.copyto(out, result)
            return out
        return result.copy()  # the next call overwrites our buffer, or the mapping is gone


# Below this many FLOPs a CPU kernel runs on IREE's local-sync device, on the calling thread:
# waking the task device's workers costs more than they save on such a kernel (tiny conv, 2-core
# VM: p50 57 us on local-sync against 100-700 us on local-task; bench/shim_overhead.py).
SYNC_MAX_FLOPS = 4_000_000


def device_for(sig: ConvSignature, target: str | Target, device_uri: str | None = None) -> str | None:
    """The device a call of `sig` should run on: the one asked for, else local-sync for small
    kernels of a CPU target (same vmfb either way), else the target's default."""
    if device_uri is not None:
        return device_uri
    if parse_target(target).driver == "local-task" and sig.flops <= SYNC_MAX_FLOPS:
        return "local-sync"
    return None


class LoadedKernels:
    """The process's one cache of loaded modules (bounded, LRU), in front of the disk cache."""

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._kernels: OrderedDict[tuple, Kernel] = OrderedDict()
        self._devices: dict[tuple, _Device] = {}
        self._lock = threading.RLock()
        self.hits = self.misses = 0

    def device(self, target: Target, device_uri: str | None = None) -> _Device:
        with self._lock:
            k = (target.driver, device_uri)
            if k not in self._devices:
                try:
                    self._devices[k] = _Device(target.driver, device_uri)
                except Exception as e:  # the binding raises RuntimeError/ValueError
                    raise BooError(f"--device: cannot open IREE device {device_uri or target.driver!r}: {e}") from None
            return self._devices[k]

    def get(self, sig: ConvSignature, target: str | Target = "cpu", *, cache_dir=None,
            strategy: str = "auto", device_uri: str | None = None, only_cached: bool = False) -> Kernel:
        """`only_cached`: raise LookupError rather than load or compile what is not in memory."""
        target = parse_target(target)
        key = (sig, target, str(cache_dir), strategy, device_uri)
        with self._lock:
            if key in self._kernels:
                self._kernels.move_to_end(key)
                self.hits += 1
                return self._kernels[key]
        if only_cached:
            raise LookupError(sig.func_name)
        self.misses += 1
        kernel = self._load(sig, target, cache_dir, strategy, device_uri)
        with self._lock:
            self._kernels[key] = kernel
            while len(self._kernels) > self.capacity:
                self._kernels.popitem(last=False)
        return kernel

    def _load(self, sig, target, cache_dir, strategy, device_uri) -> Kernel:
        dev = self.device(target, device_uri)
        cache = KernelCache(cache_dir)
        for attempt in range(2):
            compiled = compile_signature(sig, target, cache=cache, strategy=strategy)
            try:
                vmfb = compiled.entry.read_vmfb()
                break
            except (CorruptEntry, OSError):
                # A damaged entry is never executed: drop it and compile again.
                cache.invalidate(compiled.entry)
                if attempt:
                    raise
        rt = dev.rt
        module = rt.VmModule.copy_buffer(dev.instance, vmfb)
        ctx = rt.VmContext(dev.instance, modules=[dev.hal_module, module])
        fn = module.lookup_function(sig.func_name)
        if fn is None:
            raise BooError(f"{compiled.entry.vmfb_path}: no function {sig.func_name}")
        return Kernel(sig, compiled, dev, ctx, fn, module.lookup_function(sig.func_name + OUTPUT_ENTRY_SUFFIX))

    def __len__(self) -> int:
        return len(self._kernels)


LOADED = LoadedKernels()


def get_kernel(sig: ConvSignature, target: str | Target = "cpu", **kw) -> Kernel:
    """The loaded kernel for `sig` on `target` (memory cache, then disk cache, then compile)."""
    return LOADED.get(sig, target, **kw)
