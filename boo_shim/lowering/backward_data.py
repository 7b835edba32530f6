"""Backward data of a normal convolution, by stride phases.

A forward convolution of dy with the flipped filter whose channel roles are swapped (built by
one small gather). For stride > 1 no zero-stuffed tensor is built: the result is split by
stride phase (prod(stride) phases), each phase a stride-1 convolution with the taps that reach
it, and the phase results are written with strided `tensor.insert_slice`. Phases no tap
reaches stay zero.
"""

from __future__ import annotations

import itertools
import math

from .conv_core import Conv, conv_core
from .ir import IRBuilder, TensorValue
from .plan import Plan, spatial_labels, to_activation_layout


def phase_params(xsz, ysz, k, s, p, d, phi):
    """One spatial dim of the backward-data phase `phi` (output positions i = phi + s*q)."""
    Q = -(-(xsz - phi) // s)  # ceil
    if Q <= 0:
        return None
    t = phi + p
    r0 = next((r for r in range(min(k, s)) if (r * d - t) % s == 0), None)
    if r0 is None:
        return dict(Q=Q, J=0)
    gg = math.gcd(d, s)
    step = s // gg
    J = len(range(r0, k, step))
    c = (t - r0 * d) // s
    dd = d // gg
    lo = (J - 1) * dd - c
    hi = Q + (J - 1) * dd - lo - ysz
    return dict(Q=Q, J=J, r0=r0, step=step, dil=dd, lo=lo, hi=hi)


def emit_backward_data(b: IRBuilder, plan: Plan, dyv: TensorValue, wv: TensorValue, elt: str,
                       bias: TensorValue | None, out_layout: str) -> TensorValue:
    """Normal backward data: X = conv^T(Y, W), by stride phases."""
    sig = plan.sig
    s_dims, k_dims = spatial_labels(plan.nsp, "s"), spatial_labels(plan.nsp, "k")
    # dy: channel role "c" (it is the reduction of the phase convs), split into groups.
    dy = b.split(dyv, "C", ["g", "c"], [plan.G, plan.Kg])
    per_dim = []
    for i in range(plan.nsp):
        s = sig.stride[i]
        per_dim.append([
            phase_params(plan.x_sp[i], plan.y_sp[i], plan.k_sp[i], s, sig.padding[i], sig.dilation[i], phi)
            for phi in range(s)
        ])
    phases = list(itertools.product(*[range(sig.stride[i]) for i in range(plan.nsp)]))
    out_labels = ["n"] + s_dims + ["g", "f"]
    full_shape = [{"n": dy.size("n"), "g": plan.G, "f": plan.Cg}.get(l) or plan.x_sp[s_dims.index(l)]
                  for l in out_labels]
    # Kernel letters -> positions of W's dims.
    kl = sig.kernel_layout
    canon_sp = [ch for ch in "DHW" if ch in kl]
    pieces = []
    any_empty = False
    for ph in phases:
        prm = [per_dim[i][ph[i]] for i in range(plan.nsp)]
        if any(q is None for q in prm):
            continue  # no output positions in this phase
        if any(q["J"] == 0 for q in prm):
            any_empty = True
            continue
        # Filter of the phase: wp[g, f=Cg, c=Kg, j..] = W[(g*Kg + c), f, r0 + step*(J-1-j)].
        # Gathered straight into the order the conv reads (HWCF): a second pass to transpose
        # it cost as much as the gather (~0.5 ms for a 144x144x5x5 filter).
        sizes = {"g": plan.G, "f": plan.Cg, "c": plan.Kg, **{k: q["J"] for k, q in zip(k_dims, prm)}}
        wl = ["g"] + k_dims + ["c", "f"]
        wshape = [sizes[l] for l in wl]
        exprs = []
        for ch in kl:
            if ch == "N":
                exprs.append(f"{{g}} * {plan.Kg} + {{c}}" if plan.G > 1 else "{c}")
            elif ch == "C":
                exprs.append("{f}")
            else:
                i = canon_sp.index(ch)
                q = prm[i]
                top = q["r0"] + q["step"] * (q["J"] - 1)
                exprs.append(f"{top} - {{k{i}}} * {q['step']}" if q["J"] > 1 else f"{top}")
        # One tap is a plain copy, which the collapsed gather already does at full speed.
        gather = b.table_gather if any(q["J"] > 1 for q in prm) else b.gather
        wp = b.barrier(gather(wv, wl, wshape, exprs))
        cv = Conv(dy, wp, (1,) * plan.nsp, tuple(q["dil"] for q in prm), tuple(q["lo"] for q in prm),
                  tuple(q["hi"] for q in prm), tuple(q["Q"] for q in prm))
        pieces.append((ph, conv_core(b, cv)))
    if len(pieces) == 1 and not any_empty and all(s == 1 for s in sig.stride):
        result = pieces[0][1]
    else:
        make = b.zeros if (any_empty or not pieces) else b.empty
        result = make(full_shape, "f32", out_labels)
        for ph, piece in pieces:
            piece = b.transpose(piece, out_labels)
            result = b.insert(piece, result, dict(zip(s_dims, ph)), dict(zip(s_dims, sig.stride)))
    return to_activation_layout(b, result, out_layout, ("g", "f"), elt, bias)
