"""`boo_conv`: boo's convolutions as a PyTorch op, with autograd.

    from boo_shim.ops import boo_conv
    y = boo_conv(x, w, b, stride=2, padding="same", groups=4)     # like F.conv2d
    y.sum().backward()                                               # boo's bwd and wrw kernels

The work is done by three `torch.library` custom ops (`boo::convolution`,
`boo::convolution_backward_data`, `boo::convolution_backward_weight`), each with a fake
implementation, so `torch.compile` keeps them in its graph and AOTAutograd traces the backward.
`boo_conv` is the user-facing wrapper: it resolves padding strings, layouts, unbatched inputs
and autocast, then calls the forward op; the registered autograd formula calls the backward ops
for the gradients that are needed only.

Memory layout follows the tensors: a channels-last input runs the NHWC (NDHWC, NHC) kernel
with no copy and gives a channels-last result; anything else runs the NCHW kernel (a strided
input is copied first). The result's layout depends only on the input's, so the fake and the
real implementations always agree on strides.

Execution: in-process (`boo_shim.runtime.get_kernel`, the default) or through the boo daemon
(`execute="daemon"` or `BOO_EXECUTE=daemon`; `BOO_ENDPOINT` picks the daemon). Both run the
same compiled kernels.

What boo does not run (tensors off the CPU, float64, empty tensors, a signature boo refuses or
cannot compile) is computed by torch's own convolution instead, with one warning per reason
(`BooFallbackWarning`); `fallback_counts()` tells how often each reason was hit.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from functools import lru_cache
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from . import config, dtypes
from .conv import DEFAULT_LAYOUTS, ConvSignature
from .errors import CompileError, SignatureError, UnsupportedError

__all__ = [
    "boo_conv",
    "BooFallbackWarning",
    "EXECUTE_MODES",
    "fallback_counts",
    "reset_fallback_warnings",
]

EXECUTE_MODES = ("inprocess", "daemon")
_EXECUTE_ALIASES = {"inprocess": "inprocess", "in-process": "inprocess", "in_process": "inprocess",
                    "local": "inprocess", "daemon": "daemon"}
_BOO_DTYPES = tuple(d.torch for d in dtypes.ALL)


class BooFallbackWarning(UserWarning):
    """boo_conv computed a convolution with torch's own kernel; the message says why."""


# ----------------------------------------------------------------------------- fallback bookkeeping
_lock = threading.Lock()
_warned: set[str] = set()
_counts: Counter = Counter()
# Signatures that boo refused or failed to compile: not retried on every call.
_refused: dict[ConvSignature, str] = {}


def fallback_counts() -> dict[str, int]:
    """How many convolutions fell back to torch, per reason, in this process."""
    with _lock:
        return dict(_counts)


def reset_fallback_warnings() -> None:
    """Forget which reasons were warned about (and the counts): the next fallback warns again."""
    with _lock:
        _warned.clear()
        _counts.clear()
        _refused.clear()


def _note_fallback(reason: str) -> None:
    with _lock:
        _counts[reason] += 1
        first = reason not in _warned
        _warned.add(reason)
    if first:
        warnings.warn(f"boo_conv: using torch's convolution instead of boo's: {reason}",
                      BooFallbackWarning, stacklevel=4)


# ----------------------------------------------------------------------------- layouts
def _channels_last_order(nd: int) -> list[int]:
    return [0, *range(2, nd + 2), 1]


def _inverse(perm: Sequence[int]) -> list[int]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def _is_channels_last(t: torch.Tensor) -> bool:
    """True when `t` (logical NC...) is laid out N...C in memory and not also plain contiguous.

    A tensor that is both (size-1 dims) counts as contiguous, so the choice is deterministic.
    """
    if t.is_contiguous():
        return False
    return t.permute(_channels_last_order(t.dim() - 2)).is_contiguous()


def _layout_name(nd: int, channels_last: bool) -> str:
    canon = DEFAULT_LAYOUTS[nd]
    return canon[0] + canon[2:] + canon[1] if channels_last else canon


def _in_layout(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """`t` in the kernel's layout: a contiguous tensor whose dims are in that layout's order."""
    if channels_last:
        return t.permute(_channels_last_order(t.dim() - 2)).contiguous()
    return t.contiguous()


def _from_layout(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return t.permute(_inverse(_channels_last_order(t.dim() - 2))) if channels_last else t


def _empty(shape: Sequence, like: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """An uninitialised logical-NC... tensor with the strides the real implementation returns."""
    if not channels_last:
        return like.new_empty(shape)
    order = _channels_last_order(len(shape) - 2)
    return _from_layout(like.new_empty([shape[i] for i in order]), True)


def _restride(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """`t` with exactly the strides `_empty` gives (what the fake implementation promised)."""
    want = _empty(t.shape, t, channels_last)
    if t.stride() == want.stride():
        return t
    want.copy_(t)
    return want


def _conv_out_shape(x_shape, w_shape, stride, padding, dilation, transposed, output_padding, groups):
    out = [x_shape[0], w_shape[1] * groups if transposed else w_shape[0]]
    for i in range(len(x_shape) - 2):
        size, k = x_shape[i + 2], w_shape[i + 2]
        s, p, d = stride[i], padding[i], dilation[i]
        if transposed:
            out.append((size - 1) * s - 2 * p + d * (k - 1) + output_padding[i] + 1)
        else:
            out.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    return out


# ----------------------------------------------------------------------------- signatures and kernels
@lru_cache(maxsize=4096)
def _signature(fields: tuple) -> tuple[ConvSignature | None, str | None]:
    try:
        return ConvSignature(**dict(fields)), None
    except SignatureError as e:
        return None, f"boo does not take this convolution: {e}"


def _unsupported(tensors: Sequence[torch.Tensor | None]) -> str | None:
    """Why boo cannot run these tensors, or None."""
    ts = [t for t in tensors if t is not None]
    for t in ts:
        if t.device.type != "cpu":
            return f"boo runs CPU tensors only so far; got a tensor on {t.device.type}"
    for t in ts:
        if t.dtype not in _BOO_DTYPES:
            return f"boo compiles float32, float16 and bfloat16; got {t.dtype}"
    if len({t.dtype for t in ts}) > 1:
        return "the input, weight and bias dtypes differ (" + ", ".join(str(t.dtype) for t in ts) + ")"
    for t in ts:
        if t.numel() == 0:
            return "an empty tensor"
    return None


_clients: dict[str, object] = {}


def _client():
    from . import endpoints

    endpoint = endpoints.default_endpoint()
    with _lock:
        c = _clients.get(endpoint)
        if c is None:
            from .client import BooClient

            c = _clients[endpoint] = BooClient(endpoint)
    return c


def _execute(sig: ConvSignature, args: list[torch.Tensor], execute: str) -> torch.Tensor | str:
    """boo's result for `args` (in the signature's layouts), or why there is none."""
    from .runtime import device_for, get_kernel, to_numpy, to_torch

    with _lock:
        refused = _refused.get(sig)
    if refused is not None:
        return refused
    try:
        if execute == "daemon":
            return to_torch(_client().run(sig, *[to_numpy(a) for a in args]))
        # small kernels on local-sync (no worker wake-ups), through this thread's PreparedCall
        kernel = get_kernel(sig, "cpu", device_uri=device_for(sig, "cpu"))
        return to_torch(kernel.call(*[to_numpy(a) for a in args]))
    except (SignatureError, UnsupportedError, CompileError) as e:
        # Daemon-reported errors are instances of these too; an absent daemon is not, and is
        # raised: the user asked for the daemon.
        reason = f"boo could not build {sig.func_name}: {type(e).__name__}: {e}"
        with _lock:
            _refused[sig] = reason
        return reason


def _sig_fields(mode, x_shape, w_shape, dtype, x_cl, w_cl, y_cl, bias, stride, padding, dilation,
                transposed, output_padding, groups) -> tuple:
    nd = len(x_shape) - 2
    cl = _channels_last_order(nd)
    pick = lambda shape, c: tuple(shape[i] for i in cl) if c else tuple(shape)  # noqa: E731
    return (
        ("input_shape", pick(x_shape, x_cl)),
        ("kernel_shape", pick(w_shape, w_cl)),
        ("dtype", dtype),
        ("input_layout", _layout_name(nd, x_cl)),
        ("kernel_layout", _layout_name(nd, w_cl)),
        ("output_layout", _layout_name(nd, y_cl)),
        ("bias", bias),
        ("stride", tuple(stride)),
        ("padding", tuple(padding)),
        ("dilation", tuple(dilation)),
        ("transposed", transposed),
        ("output_padding", tuple(output_padding)),
        ("groups", groups),
        ("mode", mode),
    )


def _params(stride, padding, dilation, transposed, output_padding, groups) -> dict:
    return dict(stride=list(stride), padding=list(padding), dilation=list(dilation), transposed=transposed,
                output_padding=list(output_padding), groups=groups)


# ----------------------------------------------------------------------------- the custom ops
@torch.library.custom_op("boo::convolution", mutates_args=())
def _convolution(
    x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor], stride: list[int], padding: list[int],
    dilation: list[int], transposed: bool, output_padding: list[int], groups: int, execute: str,
) -> torch.Tensor:
    x_cl, w_cl = _is_channels_last(x), _is_channels_last(w)
    result = _unsupported((x, w, b))
    if result is None:
        sig, result = _signature(_sig_fields("fwd", tuple(x.shape), tuple(w.shape), x.dtype, x_cl, w_cl, x_cl,
                                             b is not None, stride, padding, dilation, transposed,
                                             output_padding, groups))
        if sig is not None:
            args = [_in_layout(x, x_cl), _in_layout(w, w_cl)] + ([b.contiguous()] if b is not None else [])
            result = _execute(sig, args, execute)
    if isinstance(result, str):
        _note_fallback(result)
        y = torch.ops.aten.convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups)
    else:
        y = _from_layout(result, x_cl)
    return _restride(y, x_cl)


@_convolution.register_fake
def _(x, w, b, stride, padding, dilation, transposed, output_padding, groups, execute):
    shape = _conv_out_shape(x.shape, w.shape, stride, padding, dilation, transposed, output_padding, groups)
    return _empty(shape, x, _is_channels_last(x))


def _gradient(direction, dy, x, w, stride, padding, dilation, transposed, output_padding, groups, execute):
    """dL/dx ("bwd") or dL/dw ("wrw") through boo's kernel for that direction, else through
    aten's convolution_backward (with the one-time warning naming why)."""
    x_cl, w_cl, dy_cl = _is_channels_last(x), _is_channels_last(w), _is_channels_last(dy)
    # what the kernel reads besides dy, and what the result looks like
    other, other_cl = (w, w_cl) if direction == "bwd" else (x, x_cl)
    like_cl, index = (x_cl, 0) if direction == "bwd" else (w_cl, 1)
    result = _unsupported((dy, x, w))
    if result is None:
        sig, result = _signature(_sig_fields(direction, tuple(x.shape), tuple(w.shape), x.dtype, x_cl, w_cl, dy_cl,
                                             False, stride, padding, dilation, transposed, output_padding,
                                             groups))
        if sig is not None:
            result = _execute(sig, [_in_layout(dy, dy_cl), _in_layout(other, other_cl)], execute)
    if isinstance(result, str):
        _note_fallback(result)
        mask = [direction == "bwd", direction == "wrw", False]
        grad = torch.ops.aten.convolution_backward(dy, x, w, None, stride, padding, dilation, transposed,
                                                   output_padding, groups, mask)[index]
    else:
        grad = _from_layout(result, like_cl)
    return _restride(grad, like_cl)


@torch.library.custom_op("boo::convolution_backward_data", mutates_args=())
def _convolution_backward_data(
    dy: torch.Tensor, x: torch.Tensor, w: torch.Tensor, stride: list[int], padding: list[int],
    dilation: list[int], transposed: bool, output_padding: list[int], groups: int, execute: str,
) -> torch.Tensor:
    """dL/dx; `x` is read for its shape and layout only."""
    return _gradient("bwd", dy, x, w, stride, padding, dilation, transposed, output_padding, groups, execute)


@_convolution_backward_data.register_fake
def _(dy, x, w, stride, padding, dilation, transposed, output_padding, groups, execute):
    return _empty(x.shape, x, _is_channels_last(x))


@torch.library.custom_op("boo::convolution_backward_weight", mutates_args=())
def _convolution_backward_weight(
    dy: torch.Tensor, x: torch.Tensor, w: torch.Tensor, stride: list[int], padding: list[int],
    dilation: list[int], transposed: bool, output_padding: list[int], groups: int, execute: str,
) -> torch.Tensor:
    """dL/dw; `w` is read for its shape and layout only."""
    return _gradient("wrw", dy, x, w, stride, padding, dilation, transposed, output_padding, groups, execute)


@_convolution_backward_weight.register_fake
def _(dy, x, w, stride, padding, dilation, transposed, output_padding, groups, execute):
    return _empty(w.shape, w, _is_channels_last(w))


def _setup_context(ctx, inputs, output):
    x, w, b, stride, padding, dilation, transposed, output_padding, groups, execute = inputs
    ctx.save_for_backward(x, w)
    ctx.conv = (stride, padding, dilation, transposed, output_padding, groups, execute)
    ctx.has_bias = b is not None


def _backward(ctx, dy):
    x, w = ctx.saved_tensors
    dx = dw = db = None
    if ctx.needs_input_grad[0]:
        dx = torch.ops.boo.convolution_backward_data(dy, x, w, *ctx.conv)
    if ctx.needs_input_grad[1]:
        dw = torch.ops.boo.convolution_backward_weight(dy, x, w, *ctx.conv)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        db = dy.sum([d for d in range(dy.dim()) if d != 1])
    return dx, dw, db, None, None, None, None, None, None, None


_convolution.register_autograd(_backward, setup_context=_setup_context)


# ----------------------------------------------------------------------------- the public wrapper
def _tuple(name: str, value, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    out = tuple(int(v) for v in value)
    if len(out) == 1:
        return out * n
    if len(out) != n:
        raise ValueError(f"boo_conv: {name} needs {n} values for a {n}D convolution, got {list(out)}")
    return out


def _resolve_execute(execute: str | None) -> str:
    spec = execute if execute is not None else config.execute() or "inprocess"
    mode = _EXECUTE_ALIASES.get(str(spec).lower())
    if mode is None:
        raise ValueError(f"boo_conv: execute={spec!r}: use one of {', '.join(EXECUTE_MODES)} "
                         "(argument `execute` or BOO_EXECUTE)")
    return mode


def _same_padding(x: torch.Tensor, kernel: Sequence[int], dilation: Sequence[int]):
    """padding='same' as torch does it: symmetric where it can be, one extra at the end where the
    total is odd (applied to `x` here, since the kernels take symmetric padding only)."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if any(t % 2 for t in total):
        pad = []
        for t in reversed(total):  # F.pad counts from the last dim
            pad += [0, t % 2]
        x = F.pad(x, pad)
    return x, tuple(t // 2 for t in total)


def _permute_from(t: torch.Tensor, layout: str | None, canon: str) -> torch.Tensor:
    if layout is None or layout.upper() == canon:
        return t
    layout = layout.upper()
    if sorted(layout) != sorted(canon):
        raise ValueError(f"boo_conv: layout {layout!r} is not a permutation of {canon}")
    return t.permute([layout.index(ch) for ch in canon])


def boo_conv(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    transposed: bool = False,
    output_padding: int | Sequence[int] = 0,
    shared_layout: str | None = None,
    input_layout: str | None = None,
    kernel_layout: str | None = None,
    output_layout: str | None = None,
    execute: str | None = None,
) -> torch.Tensor:
    """A differentiable convolution on boo's kernels: `F.conv{1,2,3}d` (or, with
    `transposed=True`, `F.conv_transpose{1,2,3}d`) with the same arguments and results.

    - 1D/2D/3D follow from `weight.dim()`; an unbatched input (one dim fewer) works as in torch.
    - `padding` may be "same" or "valid" (not for transposed convolutions, as in torch).
    - Layouts (as in iree-turbine): by default tensors have torch's logical shape (N, C, ...)
      and their memory format picks the kernel (channels-last in, channels-last out). Naming
      `input_layout`/`kernel_layout`/`output_layout` (or `shared_layout`), e.g. "NHWC", says the
      given tensors' dims are in that order, and so is the result.
    - Under `torch.autocast`, inputs are cast to the autocast dtype, as torch does for convs.
    - `execute`: "inprocess" (default) or "daemon"; default from `BOO_EXECUTE`.
    """
    nd = weight.dim() - 2
    if nd not in DEFAULT_LAYOUTS:
        raise ValueError(f"boo_conv: weight must have 3, 4 or 5 dims (1D/2D/3D), got shape {list(weight.shape)}")
    canon = DEFAULT_LAYOUTS[nd]
    x = _permute_from(input, input_layout or shared_layout, canon)
    w = _permute_from(weight, kernel_layout or shared_layout, canon)
    unbatched = x.dim() == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    if x.dim() != nd + 2:
        raise ValueError(f"boo_conv: a {nd}D convolution takes a {nd + 1}D or {nd + 2}D input, "
                         f"got shape {list(input.shape)}")
    mode = _resolve_execute(execute)
    stride_t = _tuple("stride", stride, nd)
    dilation_t = _tuple("dilation", dilation, nd)
    if isinstance(padding, str):
        if transposed:
            raise ValueError(f"boo_conv: padding={padding!r} is not supported for transposed convolutions")
        if padding == "valid":
            padding_t = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride_t):
                raise ValueError("boo_conv: padding='same' is not supported for strided convolutions")
            x, padding_t = _same_padding(x, w.shape[2:], dilation_t)
        else:
            raise ValueError(f"boo_conv: invalid padding string {padding!r}, should be one of 'valid' or 'same'")
    else:
        padding_t = _tuple("padding", padding, nd)
    out_pad_t = _tuple("output_padding", output_padding, nd)

    device_type = x.device.type
    if torch.is_autocast_enabled(device_type):
        dtype = torch.get_autocast_dtype(device_type)
        cast = lambda t: t.to(dtype) if t is not None and t.dtype in _BOO_DTYPES else t  # noqa: E731
        x, w, bias = cast(x), cast(w), cast(bias)

    y = torch.ops.boo.convolution(x, w, bias, list(stride_t), list(padding_t), list(dilation_t), bool(transposed),
                                  list(out_pad_t), int(groups), mode)
    if unbatched:
        y = y.squeeze(0)
    out_layout = output_layout or shared_layout
    if out_layout is not None and out_layout.upper() != canon:
        out_layout = out_layout.upper()
        if sorted(out_layout) != sorted(canon):
            raise ValueError(f"boo_conv: layout {out_layout!r} is not a permutation of {canon}")
        if unbatched:
            raise ValueError("boo_conv: an output layout needs a batched input")
        y = y.permute([canon.index(ch) for ch in out_layout])
    return y
