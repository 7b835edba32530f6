"""`ConvSignature`: one convolution, fully described.

A signature is the unit everything else works on: the grammar parses command lines into
signatures, the exporter turns them into MLIR, the compile cache keys vmfbs by them, and the
daemon serves calls by them.

Conventions (MIOpen's and torch's):
- Shapes are given in the order of their layout string. Layout letters: `N` batch, `C`
  channels, `D`/`H`/`W` spatial (1D signatures use `H`). For the kernel, `N` is the dimension
  torch puts first (output channels for a normal conv, input channels for a transposed one) and
  `C` the second (channels per group).
- `mode`: `fwd` (x, w[, b]) -> y; `bwd` backward data (dy, w) -> dx; `wrw` backward weights
  (dy, x) -> dw.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields, InitVar
from enum import Enum
from typing import Iterable, Sequence

import torch

from . import dtypes
from .command_line import DEFAULT_LAYOUTS, DIRECTION_BITS, SPATIAL_LETTERS, format_command, parse_fields
from .errors import SignatureError

__all__ = [
    "ConvSignature",
    "Mode",
    "DEFAULT_LAYOUTS",
    "parse_dtype",
    "dtype_name",
]

_DTYPES = {alias: d.torch for alias, d in dtypes.BY_ALIAS.items()}
_DTYPE_NAMES = {d.torch: d.wire for d in dtypes.ALL}


def parse_dtype(value: torch.dtype | str) -> torch.dtype:
    if isinstance(value, torch.dtype):
        if value not in _DTYPE_NAMES:
            raise SignatureError("dtype", f"unsupported dtype {value}; use float32, float16 or bfloat16")
        return value
    key = str(value).lower().removeprefix("torch.")
    if key not in _DTYPES:
        raise SignatureError("dtype", f"unknown dtype {value!r}; use fp32, fp16 or bf16")
    return _DTYPES[key]


def dtype_name(dtype: torch.dtype) -> str:
    """Short name used in function names and on the wire: f32, f16, bf16."""
    return _DTYPE_NAMES[dtype]


class Mode(str, Enum):
    FWD = "fwd"
    BWD = "bwd"
    WRW = "wrw"

    @staticmethod
    def parse(spec: "Mode | str | None") -> "Mode":
        if spec is None:
            return Mode.FWD
        if isinstance(spec, Mode):
            return spec
        key = str(spec).lower().replace("-", "_")
        aliases = {
            "fwd": Mode.FWD,
            "forward": Mode.FWD,
            "bwd": Mode.BWD,
            "backward_data": Mode.BWD,
            "input_backward": Mode.BWD,
            "wrw": Mode.WRW,
            "backward_weight": Mode.WRW,
            "backward_weights": Mode.WRW,
            "weight_backward": Mode.WRW,
        }
        if key not in aliases:
            raise SignatureError("mode", f"unknown mode {spec!r}; use fwd, bwd or wrw")
        return aliases[key]

    @property
    def miopen_flag(self) -> int:
        """The bit this direction has in MIOpenDriver's `-F` mask."""
        return DIRECTION_BITS[self.value]

    @property
    def title(self) -> str:
        """MIOpenDriver's words for the direction (as in `Forward Convolution Verifies OK`)."""
        return {Mode.FWD: "Forward Convolution", Mode.BWD: "Backward Convolution Data",
                Mode.WRW: "Backward Convolution Weights"}[self]


def _ints(name: str, value: int | Iterable[int], n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise SignatureError(name, f"expected an int or a list of {n} ints, got {value!r}") from None
    if len(out) != n:
        raise SignatureError(name, f"expected {n} values (one per spatial dim), got {list(out)}")
    return out


def _check_layout(name: str, layout: str, n: int) -> str:
    layout = str(layout).upper()
    expected = set(DEFAULT_LAYOUTS[n])
    if len(layout) != n + 2 or set(layout) != expected:
        raise SignatureError(
            name, f"layout {layout!r} is not a permutation of {DEFAULT_LAYOUTS[n]} for a {n}D conv"
        )
    return layout


def _perm(src: str, dst: str) -> list[int]:
    """Permutation p such that `t.permute(p)` turns a `src`-ordered tensor into `dst` order."""
    return [src.index(ch) for ch in dst]


@dataclass(frozen=True, eq=True)
class ConvSignature:
    """A convolution: shapes, layouts, dtype, conv parameters and direction.

    Construct with keywords, as in the seed:
    `ConvSignature(input_shape=[2,3,16,32], kernel_shape=[10,3,2,2], shared_layout="NCHW", mode="bwd")`.
    Lists are normalised to tuples, so signatures are hashable and compare by value.
    """

    input_shape: Sequence[int]
    kernel_shape: Sequence[int]
    dtype: torch.dtype | str = torch.bfloat16
    input_layout: str | None = None
    kernel_layout: str | None = None
    output_layout: str | None = None
    bias: bool = False
    stride: int | Sequence[int] = 1
    padding: int | Sequence[int] = 0
    dilation: int | Sequence[int] = 1
    transposed: bool = False
    output_padding: int | Sequence[int] = 0
    groups: int = 1
    mode: Mode | str = Mode.FWD
    shared_layout: InitVar[str | None] = None

    def __post_init__(self, shared_layout: str | None) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        in_shape = _ints("input_shape", self.input_shape, len(tuple(self.input_shape)))
        k_shape = _ints("kernel_shape", self.kernel_shape, len(tuple(self.kernel_shape)))
        if len(in_shape) != len(k_shape):
            raise SignatureError(
                "kernel_shape", f"rank {len(k_shape)} differs from input_shape rank {len(in_shape)}"
            )
        n = len(in_shape) - 2
        if n not in SPATIAL_LETTERS:
            raise SignatureError("input_shape", f"expected 1, 2 or 3 spatial dims, got shape {list(in_shape)}")
        set_("input_shape", in_shape)
        set_("kernel_shape", k_shape)
        set_("dtype", parse_dtype(self.dtype))
        default = shared_layout or DEFAULT_LAYOUTS[n]
        for name in ("input_layout", "kernel_layout", "output_layout"):
            set_(name, _check_layout(name, getattr(self, name) or default, n))
        for name in ("stride", "padding", "dilation", "output_padding"):
            set_(name, _ints(name, getattr(self, name), n))
        set_("mode", Mode.parse(self.mode))
        set_("transposed", bool(self.transposed))
        # Bias only changes the math of the forward direction; normalising it keeps equal
        # convolutions equal (and their cache keys identical).
        set_("bias", bool(self.bias) and self.mode is Mode.FWD)
        if isinstance(self.groups, bool) or not isinstance(self.groups, int):
            raise SignatureError("groups", f"expected an int, got {self.groups!r}")
        self._validate()

    # ----------------------------------------------------------------------------- validation
    def _validate(self) -> None:
        n = self.num_spatial_dims
        for name, shape in (("input_shape", self.input_shape), ("kernel_shape", self.kernel_shape)):
            if any(d <= 0 for d in shape):
                raise SignatureError(name, f"all sizes must be positive, got {list(shape)}")
        if self.groups <= 0:
            raise SignatureError("groups", f"must be positive, got {self.groups}")
        if any(s <= 0 for s in self.stride):
            raise SignatureError("stride", f"must be positive, got {list(self.stride)}")
        if any(d <= 0 for d in self.dilation):
            raise SignatureError("dilation", f"must be positive, got {list(self.dilation)}")
        if any(p < 0 for p in self.padding):
            raise SignatureError("padding", f"must be non-negative, got {list(self.padding)}")
        if any(p < 0 for p in self.output_padding):
            raise SignatureError("output_padding", f"must be non-negative, got {list(self.output_padding)}")
        if not self.transposed and any(self.output_padding):
            raise SignatureError("output_padding", "only transposed convolutions take output padding")
        for i in range(n):
            if self.output_padding[i] >= max(self.stride[i], self.dilation[i]):
                raise SignatureError(
                    "output_padding",
                    f"{list(self.output_padding)} must be smaller than stride or dilation",
                )
        c_in, g = self.in_channels, self.groups
        k0, k1 = self.canonical_kernel_shape[:2]
        if c_in % g:
            raise SignatureError("groups", f"{g} groups do not divide the {c_in} input channels")
        if self.transposed:
            if k0 != c_in:
                raise SignatureError(
                    "kernel_shape",
                    f"a transposed conv's kernel N dim must equal the {c_in} input channels, got {k0}",
                )
        else:
            if k1 * g != c_in:
                raise SignatureError(
                    "kernel_shape",
                    f"kernel C dim {k1} x {g} groups != {c_in} input channels",
                )
            if k0 % g:
                raise SignatureError("groups", f"{g} groups do not divide the {k0} output channels")
        out = self.canonical_output_shape
        if any(d <= 0 for d in out[2:]):
            raise SignatureError(
                "input_shape", f"the convolution output would be empty (output spatial dims {list(out[2:])})"
            )

    # ----------------------------------------------------------------------------- shapes
    @property
    def num_spatial_dims(self) -> int:
        return len(self.input_shape) - 2

    @property
    def canonical_layout(self) -> str:
        """torch's layout for this rank: NCH, NCHW or NCDHW."""
        return DEFAULT_LAYOUTS[self.num_spatial_dims]

    def _to_canon(self, shape: Sequence[int], layout: str) -> tuple[int, ...]:
        return tuple(shape[layout.index(ch)] for ch in self.canonical_layout)

    def _from_canon(self, shape: Sequence[int], layout: str) -> tuple[int, ...]:
        return tuple(shape[self.canonical_layout.index(ch)] for ch in layout)

    @property
    def canonical_input_shape(self) -> tuple[int, ...]:
        """`input_shape` in `canonical_layout` order (N, C, spatial...)."""
        return self._to_canon(self.input_shape, self.input_layout)

    @property
    def canonical_kernel_shape(self) -> tuple[int, ...]:
        """`kernel_shape` in `canonical_layout` order (torch's first kernel dim, channels per group, taps...)."""
        return self._to_canon(self.kernel_shape, self.kernel_layout)

    @property
    def in_channels(self) -> int:
        return self.canonical_input_shape[1]

    @property
    def out_channels(self) -> int:
        k0, k1 = self.canonical_kernel_shape[:2]
        return k1 * self.groups if self.transposed else k0

    @property
    def batch(self) -> int:
        return self.input_shape[self.input_layout.index("N")]

    @property
    def canonical_output_shape(self) -> tuple[int, ...]:
        """The forward result's shape in `canonical_layout` order."""
        x, w = self.canonical_input_shape, self.canonical_kernel_shape
        out = [x[0], self.out_channels]
        for i in range(self.num_spatial_dims):
            size, k = x[i + 2], w[i + 2]
            s, p, d = self.stride[i], self.padding[i], self.dilation[i]
            if self.transposed:
                out.append((size - 1) * s - 2 * p + d * (k - 1) + self.output_padding[i] + 1)
            else:
                out.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
        return tuple(out)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the forward result, in `output_layout` order."""
        return self._from_canon(self.canonical_output_shape, self.output_layout)

    @property
    def bias_shape(self) -> tuple[int, ...]:
        return (self.out_channels,)

    @property
    def arg_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the module's inputs for this direction, in call order."""
        if self.mode is Mode.FWD:
            shapes = [self.input_shape, self.kernel_shape]
            return shapes + [self.bias_shape] if self.bias else shapes
        if self.mode is Mode.BWD:
            return [self.output_shape, self.kernel_shape]
        return [self.output_shape, self.input_shape]

    @property
    def result_shape(self) -> tuple[int, ...]:
        """Shape of the module's single result for this direction."""
        return {Mode.FWD: self.output_shape, Mode.BWD: self.input_shape, Mode.WRW: self.kernel_shape}[
            self.mode
        ]

    @property
    def flops(self) -> int:
        """Multiply-adds x 2 of the convolution (the same for all three directions)."""
        small = self.canonical_input_shape if self.transposed else self.canonical_output_shape
        k = self.canonical_kernel_shape
        other_channels = self.out_channels if self.transposed else self.in_channels
        per_point = (other_channels // self.groups) * math.prod(k[2:])
        channels = self.in_channels if self.transposed else self.out_channels
        return 2 * small[0] * channels * math.prod(small[2:]) * per_point

    @property
    def bytes_moved(self) -> int:
        """Bytes read and written by the ideal kernel: every input once, the result once."""
        numel = sum(math.prod(s) for s in self.arg_shapes) + math.prod(self.result_shape)
        return numel * self.dtype.itemsize

    # ----------------------------------------------------------------------------- naming
    @property
    def func_name(self) -> str:
        """Readable and unique: every field that changes the math appears in it."""
        x = lambda v: "x".join(str(i) for i in v)  # noqa: E731
        parts = [
            "conv",
            f"{self.num_spatial_dims}d",
            dtype_name(self.dtype),
            self.mode.value,
        ]
        if self.bias:
            parts.append("b")
        if self.transposed:
            parts.append("trans")
        parts += [
            x(self.input_shape),
            self.input_layout.lower(),
            x(self.kernel_shape),
            self.kernel_layout.lower().replace("n", "f"),
            self.output_layout.lower().replace("c", "f"),
            x(self.stride) + "s",
            x(self.padding) + "p",
            x(self.dilation) + "d",
            f"{self.groups}g",
        ]
        if self.transposed:
            parts.append(x(self.output_padding) + "op")
        return "_".join(parts)

    def as_dict(self) -> dict:
        """JSON-friendly fields (the wire form and the hash input)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, torch.dtype):
                v = dtype_name(v)
            elif isinstance(v, Mode):
                v = v.value
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ConvSignature":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SignatureError(sorted(unknown)[0], "unknown signature field")
        return cls(**data)

    @property
    def key(self) -> str:
        """A stable content hash: equal signatures have equal keys across processes and runs."""
        blob = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def with_mode(self, mode: Mode | str) -> "ConvSignature":
        data = self.as_dict()
        data["mode"] = Mode.parse(mode)
        return ConvSignature.from_dict(data)

    def to_command(self, **run_options) -> str:
        """The canonical MIOpenDriver command line (parses back to an equal signature)."""
        return format_command(self, **run_options)

    @staticmethod
    def from_command(line: str) -> "ConvSignature":
        """Parse a command naming exactly one direction (`grammar.parse_command` reads any)."""
        sigs = [ConvSignature(**f) for f in parse_fields(line).fields]
        if len(sigs) != 1:
            raise SignatureError("--forw", f"the command names {len(sigs)} directions; expected one")
        return sigs[0]

    def __str__(self) -> str:
        return self.to_command()

    # ----------------------------------------------------------------------------- torch
    def get_nn_module(self) -> torch.nn.Module:
        """The torch reference for this signature (aten convolution / convolution_backward)."""
        return _ConvModule(self)

    def get_sample_conv_args(
        self,
        *,
        seed: int | None = None,
        device: str | torch.device | None = None,
        splat_value: float | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[torch.Tensor, ...]:
        """Inputs for `get_nn_module()`, in the signature's layouts and dtype (or `dtype`)."""
        dtype = dtype or self.dtype
        gen = torch.Generator(device=device or "cpu")
        gen.manual_seed(0 if seed is None else seed)
        out = []
        for shape in self.arg_shapes:
            if splat_value is not None:
                out.append(torch.full(shape, splat_value, dtype=dtype, device=device))
            else:
                t = torch.randn(shape, generator=gen, dtype=torch.float32, device=device)
                out.append(t.to(dtype))
        return tuple(out)

    # Aliases matching iree-turbine's naming.
    get_sample_args = get_sample_conv_args

    def conv_kwargs(self) -> dict:
        return dict(
            stride=list(self.stride),
            padding=list(self.padding),
            dilation=list(self.dilation),
            transposed=self.transposed,
            output_padding=list(self.output_padding),
            groups=self.groups,
        )


class _ConvModule(torch.nn.Module):
    """aten convolution (or its backward) with layouts handled by permutation.

    Works in any floating dtype, so the same module gives the float64 reference.
    """

    def __init__(self, sig: ConvSignature):
        super().__init__()
        canon = sig.canonical_layout
        self.mode = sig.mode
        self.kw = sig.conv_kwargs()
        self.x_in = _perm(sig.input_layout, canon)
        self.w_in = _perm(sig.kernel_layout, canon)
        self.y_in = _perm(sig.output_layout, canon)
        self.x_out = _perm(canon, sig.input_layout)
        self.w_out = _perm(canon, sig.kernel_layout)
        self.y_out = _perm(canon, sig.output_layout)
        self.x_shape = sig.canonical_input_shape
        self.w_shape = sig.canonical_kernel_shape
        self.has_bias = sig.bias

    def _backward(self, dy, x, w, mask):
        kw = self.kw
        return torch.ops.aten.convolution_backward(
            dy, x, w, None, kw["stride"], kw["padding"], kw["dilation"], kw["transposed"],
            kw["output_padding"], kw["groups"], mask,
        )

    def forward(self, *args):
        kw = self.kw
        if self.mode is Mode.FWD:
            x, w = args[0].permute(self.x_in), args[1].permute(self.w_in)
            b = args[2] if self.has_bias else None
            y = torch.ops.aten.convolution(
                x, w, b, kw["stride"], kw["padding"], kw["dilation"], kw["transposed"],
                kw["output_padding"], kw["groups"],
            )
            return y.permute(self.y_out)
        dy = args[0].permute(self.y_in)
        if self.mode is Mode.BWD:
            w = args[1].permute(self.w_in)
            # Only the shape of x matters for the data gradient.
            x = torch.empty(self.x_shape, dtype=dy.dtype, device=dy.device)
            dx = self._backward(dy, x, w, [True, False, False])[0]
            return dx.permute(self.x_out)
        x = args[1].permute(self.x_in)
        w = torch.empty(self.w_shape, dtype=dy.dtype, device=dy.device)
        dw = self._backward(dy, x, w, [False, True, False])[1]
        return dw.permute(self.w_out)
