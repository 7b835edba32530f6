"""One normal convolution, written channels-last: named linalg convs, matmuls, im2col.

Every conv runs channels-last: IREE's channels-first direct convs vectorise along the output
width and compile into very slow code for widths like 7, 14, 19 or for strides (up to 100x
slower than torch here), while a transpose of the input to channels-last costs one pass over
it; a channels-first 1x1 as a batch matmul with the filter broadcast measured 2-5x slower than
transpose + matmul.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UnsupportedError
from .ir import IRBuilder, TensorValue, csv
from .matmul import matmul_tiles, padded_width, tiled_matmul
from .plan import spatial_labels


@dataclass
class Conv:
    """out[n,g,f,o..] = sum_{c,k..} xpad[n,g,c, o*stride + k*dil] * w[g,f,c,k..], xpad = x padded
    by (lo, hi) (negative: cropped). Labels: x has n,g,c,s<i>; w has g,f,c,k<i>."""

    x: TensorValue
    w: TensorValue
    stride: tuple[int, ...]
    dil: tuple[int, ...]
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    out_sp: tuple[int, ...]


def conv_core(b: IRBuilder, cv: Conv, acc_elt: str = "f32") -> TensorValue:
    """Emit the convolution; returns an `acc_elt` tensor labelled n, s<i>.., g, f."""
    nsp = len(cv.out_sp)
    s_dims, k_dims = spatial_labels(nsp, "s"), spatial_labels(nsp, "k")
    x, w = cv.x, cv.w
    G, C, F = x.size("g"), x.size("c"), w.size("f")
    ksz = [w.size(k) for k in k_dims]

    if nsp == 1:
        # Give 1D a unit height and use the 2D ops.
        xr = x.relabel({"s0": "s1"})
        x = b.expand_from(xr, _insert_before(xr.labels, "s0", "s1"), _unit_before(xr, "s1"))
        wr = w.relabel({"k0": "k1"})
        w = b.expand_from(wr, _insert_before(wr.labels, "k0", "k1"), _unit_before(wr, "k1"))
        sub = Conv(x, w, (1,) + cv.stride, (1,) + cv.dil, (0,) + cv.lo, (0,) + cv.hi, (1,) + cv.out_sp)
        out = conv_core(b, sub, acc_elt)
        out = b.collapse_to(out, [l for l in out.labels if l != "s0"])
        return out.relabel({"s1": "s0"})

    sp = "hw" if nsp == 2 else "dhw"
    depthwise = C == 1 and F == 1 and G > 1
    full = ["n"] + s_dims + ["g", "f"]
    if G > 1 and not depthwise:
        # IREE's grouped named ops compile into slow code on CPU (20-40x slower than the
        # ungrouped ones here): one ungrouped conv per group, written into its slice.
        shape = {"n": x.size("n"), "g": G, "f": F, **dict(zip(s_dims, cv.out_sp))}
        res = b.empty([shape[l] for l in full], acc_elt, full)
        for gi in range(G):
            xg = b.slice(x, {"g": gi}, {"g": 1})
            wg = b.slice(w, {"g": gi}, {"g": 1})
            sub = Conv(xg, wg, cv.stride, cv.dil, cv.lo, cv.hi, cv.out_sp)
            part = conv_core(b, sub, acc_elt)
            res = b.insert(b.transpose(part, full), res, {"g": gi}, {})
        return res
    if G == 1:
        # Unit dims go first (free reshapes), so the ops see plain 4D/5D tensors.
        x = b.collapse_to(x, [l for l in x.labels if l != "g"])
        w = b.collapse_to(w, [l for l in w.labels if l != "g"])
        op, xl, wl, ol = (f"conv_{nsp}d_n{sp}c_{sp}cf", ["n"] + s_dims + ["c"], k_dims + ["c", "f"],
                          ["n"] + s_dims + ["f"])
    elif depthwise:
        x = b.collapse_to(x, [l for l in x.labels if l != "c"])
        w = b.collapse_to(w, [l for l in w.labels if l not in ("c", "f")])
        op, xl, wl, ol = (f"depthwise_conv_{nsp}d_n{sp}c_{sp}c", ["n"] + s_dims + ["g"], k_dims + ["g"],
                          ["n"] + s_dims + ["g"])
    else:
        raise UnsupportedError("internal: grouped conv reached the named-op path")

    # Transposes feeding the conv are fenced off: IREE otherwise folds them into the conv,
    # which turns the named op into a generic that compiles into slow loops.
    # The im2col copy reads any layout: a channels-first x goes into it untransposed.
    col_path = (b.options.im2col and G == 1 and nsp == 2 and all(d == 1 for d in cv.dil)
                and any(k > 1 for k in ksz)
                and bool(matmul_tiles(x.size("n") * math.prod(cv.out_sp), padded_width(F), C * math.prod(ksz))))
    if not col_path:
        x = b.transpose(x, xl, barrier=True)
    x = b.pad(x, dict(zip(s_dims, cv.lo)), dict(zip(s_dims, cv.hi)))
    # Exactly the extent the conv reads (named ops require in = (o-1)*s + (k-1)*d + 1 or more).
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(cv.out_sp, cv.stride, ksz, cv.dil)]
    for l, nd in zip(s_dims, need):
        if x.size(l) < nd:
            raise UnsupportedError("internal: padded input shorter than the conv reads")
    x = b.slice(x, {}, dict(zip(s_dims, need)))
    stride = list(cv.stride)
    # A 1-tap dim with a stride reads every s-th row: take them (one copy of the output's size
    # for all such dims) and make the conv stride-1 there, which IREE turns into a matmul if 1x1.
    one_tap = [i for i in range(nsp) if ksz[i] == 1 and stride[i] > 1]
    if one_tap:
        x = b.barrier(b.slice(x, {}, {s_dims[i]: cv.out_sp[i] for i in one_tap},
                              {s_dims[i]: stride[i] for i in one_tap}))
        for i in one_tap:
            stride[i] = 1
    if G == 1 and all(k == 1 for k in ksz) and all(st == 1 for st in stride):
        return nhwc_1x1(b, x, w, s_dims, k_dims, acc_elt)
    if nsp == 3 and G == 1:
        return conv3d_by_depth_taps(b, x, w, cv, stride, acc_elt)
    if col_path and (C < 16 or 4 * F >= x.size("n") * math.prod(cv.out_sp)):
        # f last, the rest in the filter's own order: a 2D transpose (F x R -> R x F), which
        # IREE ran ~3x faster than FCHW -> HWCF. The im2col copy then follows that order of R,
        # which for FCHW makes its inner runs the filter width instead of the channels: worth
        # it when the filter is not much smaller than the copy, or the channels are few
        # (measured: 0.82x for 144->288 3x3 on 14x14, 0.94x for 3->64 7x7; 1.12x for 32->64
        # 5x5 on 10x14x14, which keeps HWCF).
        wl = [l for l in w.labels if l != "f"] + ["f"]
    widen = b.options.widen and not (depthwise or G > 1)
    w = b.transposed(w, wl, widen)
    if col_path:
        return im2col_matmul(b, x, w, cv, stride, acc_elt)  # the copy widens x itself
    if widen:
        x = b.widened(x)
    ints = lambda v: f"dense<[{csv(v)}]> : tensor<{len(v)}xi64>"  # noqa: E731
    attrs = f"{{dilations = {ints(cv.dil)}, strides = {ints(stride)}}}"
    sizes = {"n": x.size("n"), "g": G, "f": F, "c": C, **dict(zip(s_dims, cv.out_sp))}
    acc = b.zeros([sizes[l] for l in ol], acc_elt, ol)
    out = TensorValue(b.fresh("conv"), acc.shape, acc_elt, acc.labels)
    b.emit(
        f"{out.name} = linalg.{op} {attrs} ins({x.name}, {w.name} : {x.type}, {w.type}) "
        f"outs({acc.name} : {acc.type}) -> {out.type}"
    )
    return b.expand_from(out, full, [sizes[l] for l in full])


def im2col_matmul(b: IRBuilder, x: TensorValue, w: TensorValue, cv: Conv, stride, acc_elt: str) -> TensorValue:
    """A 2D conv (x padded, any layout; w with f last) as an im2col copy and one tiled matmul.

    This is the rewrite IREE's `--iree-global-opt-use-im2col-for-convs` does (a copy, then a
    matmul), written out so the matmul gets `matmul_tiles`: a matmul IREE creates itself
    cannot be given tiles. The copy reads x in whatever layout it has, lays the reduction
    dims out in w's order (so w needs no reordering beyond putting f last), and extends x to
    w's element type as it goes.
    """
    s_dims, k_dims = spatial_labels(2, "s"), spatial_labels(2, "k")
    red = [l for l in w.labels if l != "f"]  # the reduction dims, in w's order
    col_labels = ["n"] + s_dims + red
    sizes = {"n": x.size("n"), "c": x.size("c"), **dict(zip(s_dims, cv.out_sp)), **{k: w.size(k) for k in k_dims}}
    at = {sl: f"{{{sl}}} * {stride[i]} + {{{kl}}} * {cv.dil[i]}" for i, (sl, kl) in enumerate(zip(s_dims, k_dims))}
    # w.elt is f32 when widening: the copy extends x as it goes.
    col = b.copy(x, col_labels, [sizes[l] for l in col_labels], at, w.elt, "col")
    a = b.merge(b.merge(b.barrier(col), red, "r"), ["n"] + s_dims, "m")
    wm = b.merge(w, red, "r")
    N = wm.size("f")
    out = tiled_matmul(b, a, wm, acc_elt)
    out = b.split(out, "m", ["n"] + s_dims, [sizes["n"]] + list(cv.out_sp))
    return b.expand_from(out, ["n"] + s_dims + ["g", "f"], [sizes["n"]] + list(cv.out_sp) + [1, N])


def conv3d_by_depth_taps(b: IRBuilder, x: TensorValue, w: TensorValue, cv: Conv, stride, acc_elt: str) -> TensorValue:
    """3D conv (channels-last, padded x) as a sum over depth taps of 2D convs.

    IREE's 3D conv compiles into slow code (30x torch here) and its im2col rewrite does not
    cover it; each depth tap is a 2D conv over batch N*Do of a strided depth slice of x.
    """
    Do = cv.out_sp[0]
    N = x.size("n")
    total = None
    for kd in range(w.size("k0")):
        xs = b.barrier(b.slice(x, {"s0": kd * cv.dil[0]}, {"s0": Do}, {"s0": stride[0]}))
        xs = b.merge(b.transpose(xs, ["n", "s0", "s1", "s2", "c"]), ["n", "s0"], "nd")
        xs = xs.relabel({"nd": "n", "s1": "s0", "s2": "s1"})
        ws = b.collapse_to(b.slice(w, {"k0": kd}, {"k0": 1}), [l for l in w.labels if l != "k0"])
        ws = ws.relabel({"k1": "k0", "k2": "k1"})
        xs = b.expand_from(xs, ["n", "s0", "s1", "g", "c"], [xs.size("n"), xs.size("s0"), xs.size("s1"), 1, xs.size("c")])
        ws = b.expand_from(ws, ["g"] + list(ws.labels), (1,) + ws.shape)
        sub = Conv(xs, ws, tuple(stride[1:]), cv.dil[1:], (0, 0), (0, 0), cv.out_sp[1:])
        part = conv_core(b, sub, acc_elt)  # labels n, s0, s1, g, f
        total = part if total is None else b.add(total, part)
    total = total.relabel({"s1": "s2", "s0": "s1"})
    return b.split(total, "n", ["n", "s0"], [N, Do])


def nhwc_1x1(b: IRBuilder, x: TensorValue, w: TensorValue, s_dims, k_dims, acc_elt: str) -> TensorValue:
    """Channels-last 1x1 (any rank): y[(n, p), f] = x[(n, p), c] @ W[c, f], one matmul."""
    x = b.transposed(x, ["n"] + s_dims + ["c"], b.options.widen)
    sizes = [x.size("n")] + [x.size(l) for l in s_dims]
    xm = b.merge(x, ["n"] + s_dims, "m")
    w = b.collapse_to(b.transposed(w, k_dims + ["c", "f"], b.options.widen), ["c", "f"])
    out = tiled_matmul(b, xm.relabel({"c": "r"}), w.relabel({"c": "r"}), acc_elt)
    out = b.split(out, "m", ["n"] + s_dims, sizes)
    return b.expand_from(out, ["n"] + s_dims + ["g", "f"], sizes + [1, w.size("f")])


def _insert_before(labels, new: str, at: str):
    """`labels` with `new` inserted right before `at`."""
    out = []
    for l in labels:
        if l == at:
            out.append(new)
        out.append(l)
    return tuple(out)


def _unit_before(v: TensorValue, at: str):
    """v's shape with a unit dim inserted right before the dim labelled `at`."""
    out = []
    for l, s in zip(v.labels, v.shape):
        if l == at:
            out.append(1)
        out.append(s)
    return tuple(out)
