"""The signature seen as a normal convolution, and the labels of its tensors' dims.

A transposed convolution's directions are those of the normal convolution it is the adjoint
of (its forward is the normal backward data, and so on), so every direction module works on
a `Plan`: a normal conv X -> Y with filter W, and which of its directions to compute.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import dtypes
from ..conv import ConvSignature, Mode
from ..errors import UnsupportedError
from .ir import IRBuilder, TensorValue

ELEMENT_TYPES = {d.torch: d.mlir_type for d in dtypes.ALL}

# Grouped (non-depthwise) convs become one conv per group; past this many, compile time
# grows too much and emit_mlir refuses (the caller falls back to generate_mlir).
MAX_GROUP_LOOP = 64


@dataclass
class Plan:
    """The signature seen as a *normal* (non-transposed) convolution X -> Y with filter W."""

    sig: ConvSignature
    nsp: int
    G: int
    Cg: int  # X channels per group
    Kg: int  # Y channels per group
    x_sp: tuple[int, ...]
    y_sp: tuple[int, ...]
    k_sp: tuple[int, ...]
    x_layout: str
    y_layout: str
    op: str  # "fwd" | "bwd" | "wrw" of the normal conv

    @property
    def depthwise(self) -> bool:
        return self.G > 1 and self.Cg == 1 and self.Kg == 1


def make_plan(sig: ConvSignature) -> Plan:
    n = sig.num_spatial_dims
    cin = sig.canonical_input_shape
    cout = sig.canonical_output_shape
    ck = sig.canonical_kernel_shape
    G = sig.groups
    if sig.transposed:
        X, Y, xl, yl = cout, cin, sig.output_layout, sig.input_layout
        op = {Mode.FWD: "bwd", Mode.BWD: "fwd", Mode.WRW: "wrw"}[sig.mode]
    else:
        X, Y, xl, yl = cin, cout, sig.input_layout, sig.output_layout
        op = sig.mode.value
    Kg = ck[0] // G
    Cg = ck[1]
    if X[1] != G * Cg or Y[1] != G * Kg:
        raise UnsupportedError(f"channel counts do not match groups ({X[1]}, {Y[1]}, g={G})")
    # Y's size must be consistent with the normal conv formula from X (always so for normal
    # convs; for transposed ones X carries output_padding, which the phase math handles).
    for i in range(n):
        s, p, d, k = sig.stride[i], sig.padding[i], sig.dilation[i], ck[i + 2]
        if (X[i + 2] + 2 * p - d * (k - 1) - 1) // s + 1 != Y[i + 2]:
            raise UnsupportedError("inconsistent spatial sizes for the normal-conv view")
    return Plan(sig, n, G, Cg, Kg, tuple(X[2:]), tuple(Y[2:]), tuple(ck[2:]), xl, yl, op)


def checked_plan(sig: ConvSignature) -> Plan:
    """The plan for `sig`, or UnsupportedError for what this package will not lower."""
    if sig.dtype not in ELEMENT_TYPES:
        raise UnsupportedError(f"dtype {sig.dtype} has no lowering")
    plan = make_plan(sig)
    if plan.G > MAX_GROUP_LOOP and not plan.depthwise:
        raise UnsupportedError(
            f"{plan.G} groups of {plan.Cg}->{plan.Kg} channels: the per-group lowering would emit {plan.G} "
            f"convolutions (limit {MAX_GROUP_LOOP}); use the generic export"
        )
    return plan


def spatial_labels(n: int, prefix: str) -> list[str]:
    """`prefix`0 .. `prefix`<n-1>: s<i> positions in x (and in the conv core's output), k<i>
    filter taps, o<i> output positions where both appear at once."""
    return [f"{prefix}{i}" for i in range(n)]


def activation_labels(layout: str, channel: str) -> list[str]:
    """Layout letters -> labels: N->n, C->`channel` (a channel role, split later), D/H/W -> s<i>."""
    canon_sp = [ch for ch in "DHW" if ch in layout]
    out = []
    for ch in layout:
        if ch == "N":
            out.append("n")
        elif ch == "C":
            out.append(channel)
        else:
            out.append(f"s{canon_sp.index(ch)}")
    return out


def kernel_labels(layout: str) -> list[str]:
    canon_sp = [ch for ch in "DHW" if ch in layout]
    return [ch if ch in "NC" else f"k{canon_sp.index(ch)}" for ch in layout]


def argument(idx: int, shape, elt, labels) -> TensorValue:
    return TensorValue(f"%arg{idx}", tuple(shape), elt, tuple(labels))


def to_activation_layout(b: IRBuilder, out: TensorValue, layout: str, chan_roles: tuple[str, str], elt: str,
                         bias: TensorValue | None) -> TensorValue:
    """out (f32, labels n, g, <f or c>, s..) -> the signature layout, cast to elt, plus bias."""
    g, ch = chan_roles
    expanded = []
    for l in activation_labels(layout, "C"):
        expanded += [g, ch] if l == "C" else [l]
    bias_v = None
    if bias is not None:
        bias_v = b.split(bias, "C", [g, ch], [out.size(g), out.size(ch)])
    if [l for l in out.labels if out.size(l) != 1] != [l for l in expanded if out.size(l) != 1]:
        out = b.barrier(out)  # keep the layout change out of the conv's dispatch
    y = b.epilogue(out, expanded, elt, bias_v)
    return b.merge(y, [g, ch], "C")
