"""Host-side MIOpen objects (handles, tensor and convolution descriptors) and MIOpen's formulas.

These live in the shim's process; the C caller only ever sees an opaque id (`ObjectTable`).
Rules follow MIOpen 3.x (and the reference library in native/reference):
- tensor lengths are logical N, C, (D,) H, W; the memory layout comes from the strides;
- filters are [K, C/g, ...] for convolution and [C, K/g, ...] for transposed convolution;
- output size: conv `(in + 2p - d(k-1) - 1) // s + 1`, transposed `s(in-1) + 1 + d(k-1) - 2p + adj`.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass, field
from enum import IntEnum

from .. import dtypes
from ..errors import BooError, MIOpenStatus, UnsupportedError

MAX_DIMS = 8


class BadParm(BooError):
    status = MIOpenStatus.BadParm


class NotImplementedStatus(BooError):
    status = MIOpenStatus.NotImplemented


class DataType(IntEnum):
    Half = 0
    Float = 1
    Int32 = 2
    Int8 = 3
    BFloat16 = 5
    Double = 6
    Float8_fnuz = 7
    BFloat8_fnuz = 8
    Int64 = 9


DTYPE_SIZE = {DataType.Half: 2, DataType.Float: 4, DataType.Int32: 4, DataType.Int8: 1,
              DataType.BFloat16: 2, DataType.Double: 8, DataType.Float8_fnuz: 1, DataType.BFloat8_fnuz: 1,
              DataType.Int64: 8}
# dtypes the boo daemon computes (ConvSignature names)
BOO_DTYPES = {DataType(d.miopen): d.name for d in dtypes.ALL}

# miopenTensorLayout_t
LAYOUT_ENUM = {0: "NCHW", 1: "NHWC", 2: "CHWN", 7: "NCDHW", 8: "NDHWC"}
LAYOUT_BLOCKED = {3, 4, 5, 6}  # NCHWc4/c8, CHWNc4/c8

MODE_CONV, MODE_TRANSPOSE, MODE_GROUP, MODE_DEPTHWISE = 0, 1, 2, 3


def numpy_dtype(dt: DataType):
    if dt in dtypes.BY_MIOPEN:
        return dtypes.BY_MIOPEN[dt].numpy
    import numpy as np

    # The fp8 formats have no numpy dtype; their bytes are carried as uint8.
    table = {DataType.Double: np.float64, DataType.Int32: np.int32, DataType.Int8: np.int8,
             DataType.Float8_fnuz: np.uint8, DataType.BFloat8_fnuz: np.uint8, DataType.Int64: np.int64}
    return np.dtype(table[dt])


def parse_dtype(value: int) -> DataType:
    try:
        return DataType(int(value))
    except ValueError:
        raise BadParm(f"unknown miopenDataType_t {value}") from None


def packed_strides(lens, order: str | None = None) -> list[int]:
    """Packed strides for logical `lens` stored in `order` (a layout string over N,C,(D,)H,W)."""
    nd = len(lens)
    logical = "NC" + ("DHW" if nd == 5 else "HW" if nd == 4 else "W" * (nd - 2))[-max(nd - 2, 0):]
    order = order or logical
    strides = [0] * nd
    s = 1
    for ch in reversed(order):
        i = logical.index(ch)
        strides[i] = s
        s *= lens[i]
    return strides


class MirroredObject:
    """What every handle and descriptor shares.

    `native` is the native library's own object when one is loaded behind the shim: then the
    program holds that very pointer (so MIOpen functions the shim does not export receive a
    valid native object) and ours is the state kept beside it. `unsupported` records why a
    Set that the native library accepted could not be represented by boo (a conv call with
    such an object goes to the native library instead), keyed by the setter."""

    native: object = None
    unsupported: dict

    def why_unsupported(self) -> str | None:
        return "; ".join(self.unsupported.values()) or None


@dataclass
class Handle(MirroredObject):
    stream: int = 0  # the caller's stream pointer, stored as an integer
    profiling: bool = False
    last_ms: float = 0.0
    last_native: bool = False  # the last conv call on this handle ran on the native library
    native: object = None
    unsupported: dict = field(default_factory=dict)


@dataclass
class TensorDesc(MirroredObject):
    dtype: DataType = DataType.Float
    lens: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    native: object = None
    unsupported: dict = field(default_factory=dict)

    @property
    def is_set(self) -> bool:
        return bool(self.lens)

    def key(self) -> tuple:
        """The descriptor's content: what a cache may be keyed on (never its identity, which a
        destroyed and re-created descriptor can share)."""
        return (int(self.dtype), self.lens, self.strides)

    def set(self, dtype, lens, strides=None) -> None:
        dtype = parse_dtype(dtype)
        lens = tuple(int(v) for v in lens)
        if not 1 <= len(lens) <= MAX_DIMS:
            raise BadParm(f"tensor rank {len(lens)} is not in 1..{MAX_DIMS}")
        if any(v <= 0 for v in lens):
            raise BadParm(f"tensor lengths must be positive, got {list(lens)}")
        if strides is None:
            strides = packed_strides(lens)
        strides = tuple(int(v) for v in strides)
        if len(strides) != len(lens) or any(v <= 0 for v in strides):
            raise BadParm(f"tensor strides must be positive, got {list(strides)}")
        self.dtype, self.lens, self.strides = dtype, lens, strides
        self.unsupported.clear()

    def require(self, what: str = "tensor") -> "TensorDesc":
        if not self.is_set:
            raise BadParm(f"{what} descriptor is not set")
        return self

    @property
    def nd(self) -> int:
        return len(self.lens)

    @property
    def numel(self) -> int:
        return math.prod(self.lens)

    @property
    def element_space(self) -> int:
        """Elements spanned in memory (what miopenGetTensorNumBytes counts)."""
        return 1 + sum((n - 1) * s for n, s in zip(self.lens, self.strides))

    @property
    def num_bytes(self) -> int:
        return self.element_space * DTYPE_SIZE[self.dtype]

    @property
    def layout(self) -> str:
        """The memory layout as MIOpen infers it from strides: NCHW/NHWC (NCDHW/NDHWC)."""
        return infer_layout(self.lens, self.strides)

    @property
    def packed(self) -> bool:
        return self.element_space == self.numel

    def layout_shape(self) -> tuple[int, ...]:
        """Lengths in memory-layout order (the ConvSignature convention)."""
        lay = self.layout
        logical = logical_letters(self.nd)
        return tuple(self.lens[logical.index(ch)] for ch in lay)


def logical_letters(nd: int) -> str:
    if nd == 4:
        return "NCHW"
    if nd == 5:
        return "NCDHW"
    if nd == 3:
        return "NCH"
    raise NotImplementedStatus(f"tensors of rank {nd} are not convolution tensors")


def infer_layout(lens, strides) -> str:
    """NCHW or NHWC (NCDHW or NDHWC) from strides; dims of length 1 do not constrain the order.
    Anything else (CHWN, overlapping strides) is NotImplemented."""
    nd = len(lens)
    logical = logical_letters(nd)
    spatial = logical[2:]
    for cand in (logical, "N" + spatial + "C"):
        dims = [logical.index(ch) for ch in cand if lens[logical.index(ch)] > 1]
        # outer-to-inner: each stride must cover the whole extent of the dims inside it
        ok = True
        for outer, inner in zip(dims, dims[1:]):
            if strides[outer] < strides[inner] * lens[inner]:
                ok = False
                break
        if ok:
            return cand
    raise NotImplementedStatus(f"tensor lengths {list(lens)} with strides {list(strides)} are not in "
                               f"{logical} or N{spatial}C layout")


# miopenConvolutionAttrib_t: (default, allowed values); MIOpen's ConvolutionAttribute::Set
# rejects anything else with BadParm.
CONV_ATTRIBUTES = {
    0: (-1, (-1, 0, 1)),  # FP16_ALT_IMPL: -1 = the library's default
    1: (0, (0, 1)),       # DETERMINISTIC
    2: (0, (0, 1)),       # FP8_ROUNDING_MODE: standard, stochastic
    3: (1, (0, 1)),       # MATH_TYPE: default, pedantic (MIOpen's own default is pedantic)
}
# miopenConvolutionFindMode_t: 4 (FastHybrid) is deprecated and rejected, as MIOpen does.
FIND_MODES = {1, 2, 3, 5, 6, 7}
FIND_MODE_DEFAULT = 5


@dataclass
class ConvDesc(MirroredObject):
    mode: int = MODE_CONV
    spatial: int = 2
    pad: tuple[int, ...] = (0, 0)
    stride: tuple[int, ...] = (1, 1)
    dilation: tuple[int, ...] = (1, 1)
    adj: tuple[int, ...] = (0, 0)
    groups: int = 1
    attributes: dict = field(default_factory=lambda: {a: d for a, (d, _) in CONV_ATTRIBUTES.items()})
    find_mode: int = FIND_MODE_DEFAULT
    native: object = None
    unsupported: dict = field(default_factory=dict)

    def key(self) -> tuple:
        """The content that decides the computation (attributes and find mode do not: boo's
        kernels are deterministic and compute bf16/fp16 in f32 whatever is asked)."""
        return (self.mode, self.spatial, self.pad, self.stride, self.dilation, self.adj, self.groups)

    def init(self, spatial, pad, stride, dilation, mode) -> None:
        spatial = int(spatial)
        if spatial < 1:
            raise BadParm(f"spatial dim {spatial} < 1")
        if spatial > 3:
            raise NotImplementedStatus(f"{spatial}-D convolutions are not supported (1, 2 or 3)")
        mode = int(mode)
        if mode in (MODE_GROUP, MODE_DEPTHWISE):
            # MIOpen's ConvolutionDescriptor turns the deprecated modes into plain convolution;
            # the group count comes from miopenSetConvolutionGroupCount as usual.
            mode = MODE_CONV
        if mode not in (MODE_CONV, MODE_TRANSPOSE):
            raise BadParm(f"unknown miopenConvolutionMode_t {mode}")
        pad, stride, dilation = (tuple(int(v) for v in a[:spatial]) for a in (pad, stride, dilation))
        if any(p < 0 for p in pad) or any(s < 1 for s in stride) or any(d < 1 for d in dilation):
            raise BadParm(f"bad conv parameters pad={pad} stride={stride} dilation={dilation}")
        self.mode, self.spatial, self.pad, self.stride, self.dilation = mode, spatial, pad, stride, dilation
        self.adj = (0,) * spatial
        self.groups = 1
        self.unsupported.clear()

    def set_groups(self, g: int) -> None:
        if int(g) < 1:
            raise BadParm(f"group count {g} < 1")
        self.groups = int(g)

    def set_adj(self, spatial: int, adj) -> None:
        if int(spatial) != self.spatial:
            raise BadParm(f"output padding for {spatial} dims, descriptor has {self.spatial}")
        adj = tuple(int(v) for v in adj[: self.spatial])
        if any(a < 0 for a in adj):
            raise BadParm(f"negative output padding {adj}")
        self.adj = adj

    def set_attribute(self, attr: int, value: int) -> None:
        attr, value = int(attr), int(value)
        if attr not in CONV_ATTRIBUTES:
            raise BadParm(f"unknown miopenConvolutionAttrib_t {attr}")
        if value not in CONV_ATTRIBUTES[attr][1]:
            raise BadParm(f"value {value} is not valid for convolution attribute {attr}")
        self.attributes[attr] = value

    def get_attribute(self, attr: int) -> int:
        if int(attr) not in CONV_ATTRIBUTES:
            raise BadParm(f"unknown miopenConvolutionAttrib_t {attr}")
        return self.attributes[int(attr)]

    def set_find_mode(self, mode: int) -> None:
        if int(mode) not in FIND_MODES:
            raise BadParm(f"miopenConvolutionFindMode_t {mode} is not valid")
        self.find_mode = int(mode)

    @property
    def transposed(self) -> bool:
        return self.mode == MODE_TRANSPOSE

    def forward_output_lens(self, x: TensorDesc, w: TensorDesc) -> tuple[int, ...]:
        """MIOpen's GetForwardOutputDim: y lengths (logical order) for input x and filter w."""
        x.require("input tensor")
        w.require("filter tensor")
        sd = self.spatial
        if x.nd != sd + 2 or w.nd != sd + 2:
            raise BadParm(f"a {sd}-D convolution needs rank-{sd + 2} tensors, got {x.nd} and {w.nd}")
        if x.dtype != w.dtype:
            raise BadParm(f"input dtype {x.dtype.name} != filter dtype {w.dtype.name}")
        g = self.groups
        in_c, wk, wc = x.lens[1], w.lens[0], w.lens[1]
        out = [x.lens[0]]
        if not self.transposed:
            if in_c != wc * g or wk % g:
                raise BadParm(f"{in_c} input channels, filter {list(w.lens)} and {g} groups do not match")
            out.append(wk)
            for i in range(sd):
                v = (x.lens[2 + i] + 2 * self.pad[i] - self.dilation[i] * (w.lens[2 + i] - 1) - 1) // self.stride[i] + 1
                out.append(max(1, v))
        else:
            if in_c != wk or wk % g:
                raise BadParm(f"transposed: {in_c} input channels, filter {list(w.lens)}, {g} groups do not match")
            if any(a >= s for a, s in zip(self.adj, self.stride)):
                raise BadParm(f"output padding {self.adj} must be smaller than stride {self.stride}")
            out.append(wc * g)
            for i in range(sd):
                v = (self.stride[i] * (x.lens[2 + i] - 1) + 1 + self.dilation[i] * (w.lens[2 + i] - 1)
                     - 2 * self.pad[i] + self.adj[i])
                out.append(max(1, v))
        return tuple(out)


DIRECTIONS = ("fwd", "bwd", "wrw")


@dataclass(frozen=True)
class Problem:
    """One convolution call: direction plus the (x, w, y) descriptors (y = forward output: y for
    fwd, dy for bwd/wrw; x = dx for bwd; w = dw for wrw)."""

    direction: str
    conv: ConvDesc
    x: TensorDesc
    w: TensorDesc
    y: TensorDesc

    def key(self) -> tuple:
        return (self.direction, self.conv.key(), self.x.key(), self.w.key(), self.y.key())

    def why_unsupported(self) -> str | None:
        """Why boo cannot represent one of the descriptors (a Set only the native library took)."""
        reasons = [r for o in (self.conv, self.x, self.w, self.y) if (r := o.why_unsupported())]
        return "; ".join(reasons) or None

    def validate(self) -> None:
        expect = self.conv.forward_output_lens(self.x, self.w)
        self.y.require("output tensor")
        if self.y.nd != self.x.nd or self.y.dtype != self.x.dtype:
            raise BadParm("output tensor rank/dtype differs from the input tensor")
        if tuple(self.y.lens) != expect:
            raise BadParm(f"output tensor lengths {list(self.y.lens)} != expected {list(expect)}")

    def signature(self):
        """The boo `ConvSignature` for this call (UnsupportedError for what boo does not compute)."""
        from ..conv import ConvSignature

        why = self.why_unsupported()
        if why:
            raise UnsupportedError(why)
        self.validate()
        if self.x.dtype not in BOO_DTYPES:
            raise UnsupportedError(f"dtype {self.x.dtype.name} is not computed by boo (fp32, fp16, bf16)")
        try:
            xl, wl, yl = self.x.layout, self.w.layout, self.y.layout
        except NotImplementedStatus as e:
            raise UnsupportedError(str(e)) from None
        c = self.conv
        return ConvSignature(
            input_shape=self.x.layout_shape(), kernel_shape=self.w.layout_shape(),
            dtype=BOO_DTYPES[self.x.dtype], input_layout=xl, kernel_layout=wl, output_layout=yl,
            stride=list(c.stride), padding=list(c.pad), dilation=list(c.dilation),
            transposed=c.transposed, output_padding=list(c.adj) if c.transposed else 0,
            groups=c.groups, mode=self.direction,
        )

    @property
    def dest(self) -> TensorDesc:
        return {"fwd": self.y, "bwd": self.x, "wrw": self.w}[self.direction]


class ObjectTable:
    """Opaque-pointer table: ids handed to C map to host objects. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._objs: dict[int, object] = {}
        self._next = itertools.count(1)

    def add(self, obj, oid: int | None = None) -> int:
        """Register `obj` under `oid` (the native library's pointer for it, when there is one) or
        under a fresh id of ours. Our ids come from a counter and are never reused; a native
        pointer may be reused by the native library after a destroy, which is why nothing may
        cache by these ids (caches key on descriptor content)."""
        with self._lock:
            if oid is None:
                oid = 0x10000 + 16 * next(self._next)  # never NULL, looks like an aligned pointer
            self._objs[oid] = obj
            return oid

    def get(self, oid: int, cls: type, what: str):
        if not oid:
            raise BadParm(f"NULL {what}")
        with self._lock:
            obj = self._objs.get(oid)
        if not isinstance(obj, cls):
            raise BadParm(f"{what} {oid:#x} is not a live {cls.__name__}")
        return obj

    def remove(self, oid: int, cls: type, what: str):
        with self._lock:
            obj = self._objs.get(oid) if oid else None
            if not isinstance(obj, cls):
                raise BadParm(f"{what} {oid:#x} is not a live {cls.__name__}")
            del self._objs[oid]
            return obj

    def __len__(self) -> int:
        with self._lock:
            return len(self._objs)
