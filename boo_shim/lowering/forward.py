"""Forward of a normal convolution: one `conv_core` between the layout changes."""

from __future__ import annotations

from .conv_core import Conv, conv_core
from .ir import IRBuilder, TensorValue
from .plan import Plan, to_activation_layout


def emit_forward(b: IRBuilder, plan: Plan, xv: TensorValue, wv: TensorValue, elt: str, bias: TensorValue | None,
                 out_layout: str) -> TensorValue:
    """Normal forward: Y = conv(X, W)."""
    sig = plan.sig
    x = b.split(xv, "C", ["g", "c"], [plan.G, plan.Cg])
    w = b.split(wv, "N", ["g", "f"], [plan.G, plan.Kg]).relabel({"C": "c"})
    lo, hi = [], []
    for i in range(plan.nsp):
        s, p, d, k = sig.stride[i], sig.padding[i], sig.dilation[i], plan.k_sp[i]
        need = (plan.y_sp[i] - 1) * s + (k - 1) * d + 1
        lo.append(p)
        hi.append(need - plan.x_sp[i] - p)
    out = conv_core(b, Conv(x, w, tuple(sig.stride), tuple(sig.dilation), tuple(lo), tuple(hi), plan.y_sp))
    return to_activation_layout(b, out, out_layout, ("g", "f"), elt, bias)
