"""Backward weights of a normal convolution: im2col + batch matmul, or one depthwise reduction.

The output is small and the reduction huge: a single matmul over N*H*W compiled badly, and the
conv formulation with batch and channels swapped even worse, so the reduction over the batch
is a batch matmul followed by a sum.
"""

from __future__ import annotations

import math

from .ir import IRBuilder, TensorValue, affine_map, dim_names
from .matmul import matmul_tiles
from .plan import Plan, spatial_labels


def emit_backward_weights(b: IRBuilder, plan: Plan, dyv: TensorValue, xv: TensorValue, elt: str,
                          out_layout: str) -> TensorValue:
    """Normal backward weights: dW[g,k,c,r] = sum_{n,o} dy[n,g,k,o] * xpad[n,g,c,o*s + r*d]."""
    s_dims = spatial_labels(plan.nsp, "s")
    x = b.split(xv, "C", ["g", "c"], [plan.G, plan.Cg])
    dy = b.split(dyv, "C", ["g", "k"], [plan.G, plan.Kg])
    if plan.depthwise:
        out = _depthwise(b, plan, dy, x)
        return _to_kernel_layout(b, out, elt, out_layout, s_dims)
    full = ["g", "kk", "cc"] + s_dims
    res = None
    for gi in range(plan.G):
        xg = b.collapse_to(b.slice(x, {"g": gi}, {"g": 1}), [l for l in x.labels if l != "g"])
        dg = b.collapse_to(b.slice(dy, {"g": gi}, {"g": 1}), [l for l in dy.labels if l != "g"])
        part = _im2col(b, plan, dg, xg)  # labels kk, cc, s..
        part = b.expand_from(part, ["g"] + list(part.labels), (1,) + part.shape)
        if plan.G == 1:
            res = part
            break
        if res is None:
            res = b.empty([plan.G, plan.Kg, plan.Cg] + list(plan.k_sp), "f32", full)
        res = b.insert(b.transpose(part, full), res, {"g": gi}, {})
    return _to_kernel_layout(b, res, elt, out_layout, s_dims)


def _pads(plan: Plan) -> tuple[list[int], list[int]]:
    sig = plan.sig
    lo, hi = [], []
    for i in range(plan.nsp):
        s, p, d = sig.stride[i], sig.padding[i], sig.dilation[i]
        need = (plan.k_sp[i] - 1) * d + (plan.y_sp[i] - 1) * s + 1
        lo.append(p)
        hi.append(need - plan.x_sp[i] - p)
    return lo, hi


def _im2col(b: IRBuilder, plan: Plan, dy: TensorValue, x: TensorValue) -> TensorValue:
    """One group: an im2col copy of x, then a batch matmul over n, then a sum over n.

    dy channels-last: col[n, (r.., c), o] x dy[n, o, k] -> [n, rc, k];
    dy channels-first: dy[n, k, o] x col[n, o, (r.., c)] -> [n, k, rc].
    Returns f32 labelled kk, cc, s<i> (s<i> = the filter taps).
    """
    sig = plan.sig
    s_dims, k_dims, o_dims = (spatial_labels(plan.nsp, p) for p in "sko")
    lo, hi = _pads(plan)
    x = b.pad(x, dict(zip(s_dims, lo)), dict(zip(s_dims, hi)))
    cl = dy.labels[-1] == "k"
    dy = b.transpose(dy, ["n"] + s_dims + ["k"] if cl else ["n", "k"] + s_dims, barrier=True)
    # The copy's inner run: the channels, except for a channels-first x with few of them (3
    # for an RGB input layer), where the filter width reads contiguously instead (and the
    # result comes out FCHW): 11x11 stride-4 on 3 channels, 0.88 -> 0.5 ms.
    taps = ["c"] + k_dims if not cl and plan.Cg < 16 else k_dims + ["c"]
    col_labels = ["n"] + taps + o_dims if cl else ["n"] + o_dims + taps
    sizes = {"n": x.size("n"), "c": plan.Cg, **dict(zip(k_dims, plan.k_sp)), **dict(zip(o_dims, plan.y_sp))}
    at = {s_dims[i]: f"{{{o_dims[i]}}} * {sig.stride[i]} + {{{k_dims[i]}}} * {sig.dilation[i]}"
          for i in range(plan.nsp)}
    # Widened, the copy writes f32 (in a dispatch of its own, see IRBuilder.widened) and dy is
    # extended too: IREE's bf16 batch matmul ran 2.5-3x slower than the f32 one with tiles.
    widen = b.options.widen
    col = b.copy(x, col_labels, [sizes[l] for l in col_labels], at, "f32" if widen else x.elt, "col")
    if widen:
        col, dy = b.barrier(col), b.widened(dy)
    rc = math.prod(plan.k_sp) * plan.Cg
    N, Kg = sizes["n"], plan.Kg
    if cl:
        lhs = b.merge(b.merge(col, taps, "rc"), o_dims, "o")
        rhs = b.merge(dy, s_dims, "o")
        out_labels, out_shape = ["n", "rc", "kk"], [N, rc, Kg]
    else:
        lhs = b.merge(dy, s_dims, "o")
        rhs = b.merge(b.merge(col, taps, "rc"), o_dims, "o")
        out_labels, out_shape = ["n", "kk", "rc"], [N, Kg, rc]
    acc = b.zeros(out_shape, "f32", out_labels)
    mm = TensorValue(b.fresh("bmm"), acc.shape, "f32", acc.labels)
    tiles = matmul_tiles(*out_shape[1:], lhs.size("o"), batch=True) if b.options.cpu and lhs.elt == "f32" else ""
    b.emit(
        f"{mm.name} = linalg.batch_matmul {tiles}ins({lhs.name}, {rhs.name} : {lhs.type}, {rhs.type}) "
        f"outs({acc.name} : {acc.type}) -> {mm.type}"
    )
    if N == 1:
        red = b.collapse_to(mm, [l for l in mm.labels if l != "n"])
    else:
        rl = [l for l in out_labels if l != "n"]
        init = b.zeros([mm.size(l) for l in rl], "f32", rl)
        red = b.generic("sum", [mm], init, ["affine_map<(d0, d1, d2) -> (d2, d0, d1)>", "affine_map<(d0, d1, d2) -> (d0, d1)>"],
                        ["parallel", "parallel", "reduction"], ["%a: f32", "%o: f32"],
                        ["%s = arith.addf %a, %o : f32", "linalg.yield %s : f32"])
    rr = ["cc" if l == "c" else l for l in taps]
    red = b.split(red, "rc", rr, [plan.Cg if l == "cc" else plan.k_sp[k_dims.index(l)] for l in rr])
    return b.transpose(red, ["kk", "cc"] + k_dims).relabel(dict(zip(k_dims, s_dims)))


def _depthwise(b: IRBuilder, plan: Plan, dy: TensorValue, x: TensorValue) -> TensorValue:
    """Depthwise: dW[g, r] = sum_{n,o} dy[n,g,o] * xpad[n,g,o*s + r*d], one generic reduction
    (vectorised along the channels). Returns f32 labelled cc, g, kk, s<i>."""
    sig = plan.sig
    s_dims, k_dims, o_dims = (spatial_labels(plan.nsp, p) for p in "sko")
    lo, hi = _pads(plan)
    x = b.collapse_to(b.pad(x, dict(zip(s_dims, lo)), dict(zip(s_dims, hi))), [l for l in x.labels if l != "c"])
    dy = b.collapse_to(dy, [l for l in dy.labels if l != "k"])
    cl = dy.labels[-1] == "g"
    ol = k_dims + ["g"] if cl else ["g"] + k_dims
    names, dims = dim_names(ol + ["n"] + o_dims)

    def x_index(l):
        if l in s_dims:
            i = s_dims.index(l)
            return f"{names[o_dims[i]]} * {sig.stride[i]} + {names[k_dims[i]]} * {sig.dilation[i]}"
        return names[l]

    x_map = affine_map(dims, ", ".join(x_index(l) for l in x.labels))
    dy_map = affine_map(dims, ", ".join(names[dict(zip(s_dims, o_dims)).get(l, l)] for l in dy.labels))
    acc = b.zeros([plan.G if l == "g" else plan.k_sp[k_dims.index(l)] for l in ol], "f32", ol)
    body = []
    av, wv = "%a", "%w"
    if x.elt != "f32":
        body += [f"%ax = arith.extf %a : {x.elt} to f32", f"%wx = arith.extf %w : {dy.elt} to f32"]
        av, wv = "%ax", "%wx"
    body += [f"%m = arith.mulf {av}, {wv} : f32", "%s = arith.addf %o, %m : f32", "linalg.yield %s : f32"]
    out = b.generic("dw", [x, dy], acc, [x_map, dy_map, affine_map(dims, ", ".join(names[l] for l in ol))],
                    ["parallel"] * len(ol) + ["reduction"] * (1 + plan.nsp),
                    [f"%a: {x.elt}", f"%w: {dy.elt}", "%o: f32"], body)
    out = out.relabel(dict(zip(k_dims, s_dims)))
    return b.expand_from(out, ["cc", "kk"] + list(out.labels), (1, 1) + out.shape)


def _to_kernel_layout(b: IRBuilder, out: TensorValue, elt: str, layout: str, s_dims) -> TensorValue:
    """out labels: cc, g, kk, s<i> (f32) -> kernel layout (N = g*Kg + kk, C = cc)."""
    canon_sp = [ch for ch in "DHW" if ch in layout]
    expanded = []
    for ch in layout:
        if ch == "N":
            expanded += ["g", "kk"]
        elif ch == "C":
            expanded.append("cc")
        else:
            expanded.append(s_dims[canon_sp.index(ch)])
    y = b.epilogue(out, expanded, elt, None)
    return b.merge(y, ["g", "kk"], "N")
