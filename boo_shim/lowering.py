"""Hand-written MLIR for convolutions that IREE's llvm-cpu backend compiles into fast code.

`generate_mlir` (iree-turbine's exporter) is general but, for channels-last layouts and for the
backward directions, hands IREE IR it compiles into slow loops. This module writes the IR itself,
on builtin tensors, so that every direction ends in a named forward convolution or a batch
matmul, in a layout IREE's CPU pipeline tiles and vectorises well.

Strategies (`choose_strategy` names them):

- ``direct-nhwc`` (forward): every conv runs channels-last. A channels-last input is used in
  place (only reshaped); a channels-first one is transposed (one pass; IREE's channels-first
  direct convs vectorise along the output width and ran up to 100x slower than torch for
  widths like 7/14/19 or with strides). The filter (small) is transposed to HWCF.
  ``linalg.conv_2d_nhwc_hwcf``; 1D gets a unit height; 3D is a sum over the depth taps of 2D
  convs over batch N*Do (strided depth slices of x): IREE's 3D conv ran ~30x slower. Padding is a ``tensor.pad``
  (an ``extract_slice`` where a pad would be negative). A 1-tap dim with a stride is
  pre-sliced (strided ``extract_slice``) and becomes stride 1; a 1x1 stride-1 conv is one
  ``linalg.matmul`` over (N x spatial). An ungrouped 2D conv without dilation whose matmul
  `_matmul_tiles` can tile is written as IREE's own im2col rewrite would write it (one im2col
  copy, one matmul), so that the matmul gets those tiles (`_im2col_matmul`).
  ``-depthwise``: ``depthwise_conv_2d_nhwc_hwc`` / ``depthwise_conv_3d_ndhwc_dhwc``.
  ``-groups``: one ungrouped conv per group written into its slice of the result: IREE's grouped
  named ops (``conv_2d_nhwgc_gfhwc``, ``conv_2d_ngchw_gfchw``) compile into code 20-40x slower.
- ``phase-*`` (backward data): a forward convolution of ``dy`` with the flipped filter whose
  channel roles are swapped (built by one small ``linalg.generic`` gather). For stride > 1 no
  zero-stuffed tensor is built: the result is split by stride phase (``prod(stride)`` phases),
  each phase a stride-1 convolution with the taps that reach it, and the phase results are
  written with strided ``tensor.insert_slice``. Phases no tap reaches stay zero.
- ``wrw-im2col`` (backward weights): an im2col copy of ``x`` (one ``linalg.generic``), a
  ``linalg.batch_matmul`` over the batch with ``dy``, and a sum over the batch (the output is
  small, the reduction huge: a single matmul over N*H*W compiled badly, the conv formulation
  with batch and channels swapped even worse). ``-groups``: one per group.
  ``wrw-depthwise``: one reduction ``linalg.generic``, vectorised along the channels.
- transposed convolutions: their forward is the backward data of the normal convolution, their
  backward data the normal forward, their backward weights the normal one with dy and x swapped.
- bf16/f16: accumulation is always f32. Outside depthwise convs, narrow operands are extended
  to f32 in a dispatch of their own (`_B.widened`) before the matmuls and the convs (the wrw
  im2col copy writes f32 itself): IREE's bf16 matmul code ran 2-3x slower than its f32 here,
  and IREE's im2col rewrite (see `recommended_flags`) fails on mixed-type convs. The depthwise
  ops take the narrow operands with an f32 accumulator. The result is truncated once at the
  end, after the bias is added in f32 (one epilogue ``linalg.generic`` that also does any
  layout change).
- matmuls carry tile configurations (`_matmul_tiles`) where they were measured faster than
  IREE's default, and narrow odd widths are padded to a multiple of 16 (`_tiled_matmul`);
  docs/cpu_performance.md has the figures.

Compile the IR with `recommended_flags("llvm-cpu", sig)`: the IR and the flags were tuned
together (the IR stays correct without them, only slower).

Transposes feeding a conv are fenced with ``util.optimization_barrier``: without it IREE folds a
filter transpose into the named conv, turning it into a ``linalg.generic`` that compiles into
code ~30x slower.

`emit_mlir` raises `UnsupportedError` for anything it cannot express exactly (a transposed
convolution with output padding >= stride, which has no normal-convolution view); callers
then fall back to `generate_mlir`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import torch

from .conv import ConvSignature, Mode
from .errors import UnsupportedError

__all__ = ["emit_mlir", "choose_strategy", "recommended_flags", "STRATEGIES", "MAX_GROUP_LOOP"]

STRATEGIES = tuple(
    f"{k}-nhwc{x}" for k in ("direct", "phase") for x in ("", "-groups", "-depthwise")
) + ("wrw-im2col", "wrw-im2col-groups", "wrw-depthwise")

# Grouped (non-depthwise) convs become one conv per group; past this many, compile time
# grows too much and emit_mlir refuses (the caller falls back to generate_mlir).
MAX_GROUP_LOOP = 64

_ELT = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}
_CPU_TARGETS = ("llvm-cpu", "cpu", "local-task", "local-sync")


# ============================================================================== IR building


def _tt(shape: Sequence[int], elt: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elt + ">"


def _zero(elt: str) -> str:
    return "0.000000e+00"


@dataclass(frozen=True)
class _V:
    """An SSA tensor value whose dims carry role labels (n, g, c, f, s0.., k0..)."""

    name: str
    shape: tuple[int, ...]
    elt: str
    labels: tuple[str, ...]

    @property
    def type(self) -> str:
        return _tt(self.shape, self.elt)

    def size(self, label: str) -> int:
        return self.shape[self.labels.index(label)]

    def relabel(self, mapping: dict[str, str]) -> "_V":
        return _V(self.name, self.shape, self.elt, tuple(mapping.get(l, l) for l in self.labels))


class _B:
    """A tiny textual MLIR builder."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._n = 0
        self._consts: dict[str, str] = {}
        self.widen = False  # extend narrow conv/matmul operands to f32 (see widened)
        self.im2col = False  # write plain 2D convs as im2col + a tiled matmul (see _im2col_matmul)
        self.cpu = True  # llvm-cpu tile configurations on the matmuls (see _matmul_tiles)

    def fresh(self, hint: str = "v") -> str:
        self._n += 1
        return f"%{hint}{self._n}"

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def const(self, elt: str) -> str:
        if elt not in self._consts:
            name = f"%zero_{elt}"
            self.emit(f"{name} = arith.constant {_zero(elt)} : {elt}")
            self._consts[elt] = name
        return self._consts[elt]

    # ---------------------------------------------------------------- structural ops
    def empty(self, shape, elt, labels) -> _V:
        v = _V(self.fresh("e"), tuple(shape), elt, tuple(labels))
        self.emit(f"{v.name} = tensor.empty() : {v.type}")
        return v

    def zeros(self, shape, elt, labels) -> _V:
        e = self.empty(shape, elt, labels)
        z = self.const(elt)
        v = _V(self.fresh("z"), e.shape, elt, e.labels)
        self.emit(f"{v.name} = linalg.fill ins({z} : {elt}) outs({e.name} : {e.type}) -> {v.type}")
        return v

    def copy(self, src: _V, labels: Sequence[str], shape: Sequence[int], at: dict, elt: str, hint: str = "w") -> _V:
        """out[labels] = src[...] extended to `elt`: src's dim l is read at `at[l]`, an affine
        template of the output labels ("{s0} * 2 + {k0}"), or at output dim l if absent.
        One generic with an input map: the im2col copies, and plain widening."""
        labels, shape = tuple(labels), tuple(shape)
        names = {l: f"d{i}" for i, l in enumerate(labels)}
        dims = ", ".join(names[l] for l in labels)
        smap = ", ".join(_sub(at.get(l, "{" + l + "}"), names) for l in src.labels)
        e = self.empty(shape, elt, labels)
        out = _V(self.fresh(hint), shape, elt, labels)
        its = ", ".join(['"parallel"'] * len(labels))
        self.emit(
            f"{out.name} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({smap})>, "
            f"affine_map<({dims}) -> ({dims})>], iterator_types = [{its}]}} ins({src.name} : {src.type}) "
            f"outs({e.name} : {e.type}) {{"
        )
        self.emit(f"^bb0(%a: {src.elt}, %o: {elt}):")
        if elt != src.elt:
            self.emit(f"  %x = arith.extf %a : {src.elt} to {elt}")
        self.emit(f"  linalg.yield {'%x' if elt != src.elt else '%a'} : {elt}")
        self.emit(f"}} -> {out.type}")
        return out

    def extf(self, v: _V, elt: str = "f32") -> _V:
        return v if v.elt == elt else self.copy(v, v.labels, v.shape, {}, elt)

    def widened(self, v: _V) -> _V:
        """`v` as f32 in its own dispatch: IREE's bf16 matmul code ran ~2x slower than f32 here
        (oneDNN's bf16 is slower than its f32 too), and fused into the matmul the extension
        turns it into a generic that compiles no better."""
        return v if v.elt == "f32" else self.barrier(self.extf(v))

    def transposed(self, v: _V, labels: Sequence[str], widen: bool) -> _V:
        """`v` transposed to `labels` behind a barrier, and extended to f32 in the same dispatch
        when `widen` (one pass over it, not two)."""
        if not widen or v.elt == "f32":
            return self.transpose(v, labels, barrier=True)
        return self.widened(self.transpose(v, labels))

    def add(self, a: _V, c: _V) -> _V:
        assert a.labels == c.labels and a.shape == c.shape
        e = self.empty(a.shape, a.elt, a.labels)
        out = _V(self.fresh("add"), a.shape, a.elt, a.labels)
        dims = ", ".join(f"d{i}" for i in range(len(a.shape)))
        m = f"affine_map<({dims}) -> ({dims})>"
        its = ", ".join(['"parallel"'] * len(a.shape))
        self.emit(
            f"{out.name} = linalg.generic {{indexing_maps = [{m}, {m}, {m}], iterator_types = [{its}]}} "
            f"ins({a.name}, {c.name} : {a.type}, {c.type}) outs({e.name} : {e.type}) {{"
        )
        self.emit(f"^bb0(%a: {a.elt}, %c: {a.elt}, %o: {a.elt}):")
        self.emit(f"  %s = arith.addf %a, %c : {a.elt}")
        self.emit(f"  linalg.yield %s : {a.elt}")
        self.emit(f"}} -> {out.type}")
        return out

    def barrier(self, v: _V) -> _V:
        out = _V(self.fresh("ob"), v.shape, v.elt, v.labels)
        self.emit(f"{out.name} = util.optimization_barrier {v.name} : {v.type}")
        return out

    def transpose(self, v: _V, labels: Sequence[str], barrier: bool = False) -> _V:
        labels = tuple(labels)
        assert sorted(labels) == sorted(v.labels), (labels, v.labels)
        if labels == v.labels:
            return v
        perm = [v.labels.index(l) for l in labels]
        shape = tuple(v.shape[p] for p in perm)
        # Unit dims can move for free: a reshape, not a copy.
        if [l for l in labels if v.size(l) != 1] == [l for l in v.labels if v.size(l) != 1]:
            return self._reshape_units(v, labels, shape)
        e = self.empty(shape, v.elt, labels)
        out = _V(self.fresh("t"), shape, v.elt, labels)
        self.emit(
            f"{out.name} = linalg.transpose ins({v.name} : {v.type}) outs({e.name} : {e.type}) "
            f"permutation = [{', '.join(map(str, perm))}]"
        )
        return self.barrier(out) if barrier else out

    def _reshape_units(self, v: _V, labels, shape) -> _V:
        # Collapse to the non-unit dims, then expand to the wanted order.
        big = [l for l in v.labels if v.size(l) != 1]
        mid = self.collapse_to(v, big)
        return self.expand_from(mid, labels, shape)

    def collapse_to(self, v: _V, keep: Sequence[str]) -> _V:
        """Drop unit dims of v (those not in `keep`); keep's order must match v's."""
        keep = list(keep)
        if list(v.labels) == keep:
            return v
        groups: list[list[int]] = []
        pending: list[int] = []
        for i, l in enumerate(v.labels):
            pending.append(i)
            if l in keep:
                groups.append(pending)
                pending = []
        if not groups:  # all dims unit: collapse to rank 0 is awkward; keep one
            raise UnsupportedError("internal: collapsing every dim")
        groups[-1] += pending
        shape = tuple(v.size(l) for l in keep)
        out = _V(self.fresh("c"), shape, v.elt, tuple(keep))
        self.emit(
            f"{out.name} = tensor.collapse_shape {v.name} {_groups(groups)} : {v.type} into {out.type}"
        )
        return out

    def expand_from(self, v: _V, labels, shape) -> _V:
        """Insert unit dims (v's labels must be a subsequence of `labels`, sizes preserved)."""
        labels, shape = tuple(labels), tuple(shape)
        if labels == v.labels:
            return v
        groups: list[list[int]] = []
        pending: list[int] = []
        for i, l in enumerate(labels):
            pending.append(i)
            if l in v.labels:
                groups.append(pending)
                pending = []
        if not groups:
            raise UnsupportedError("internal: expanding a scalar")
        groups[-1] += pending
        out = _V(self.fresh("x"), shape, v.elt, labels)
        self.emit(
            f"{out.name} = tensor.expand_shape {v.name} {_groups(groups)} output_shape "
            f"[{', '.join(map(str, shape))}] : {v.type} into {out.type}"
        )
        return out

    def split(self, v: _V, label: str, new: Sequence[str], sizes: Sequence[int]) -> _V:
        """Split one dim into several (row-major), e.g. C -> (g, c)."""
        i = v.labels.index(label)
        assert math.prod(sizes) == v.shape[i]
        labels = v.labels[:i] + tuple(new) + v.labels[i + 1 :]
        shape = v.shape[:i] + tuple(sizes) + v.shape[i + 1 :]
        groups = [[j] for j in range(i)] + [list(range(i, i + len(new)))]
        groups += [[j + len(new) - 1] for j in range(i + 1, len(v.labels))]
        out = _V(self.fresh("x"), shape, v.elt, labels)
        self.emit(
            f"{out.name} = tensor.expand_shape {v.name} {_groups(groups)} output_shape "
            f"[{', '.join(map(str, shape))}] : {v.type} into {out.type}"
        )
        return out

    def merge(self, v: _V, labels: Sequence[str], new: str) -> _V:
        """Merge adjacent dims (in the given order, which must be v's) into one."""
        labels = list(labels)
        i = v.labels.index(labels[0])
        assert list(v.labels[i : i + len(labels)]) == labels, (v.labels, labels)
        groups = [[j] for j in range(i)] + [list(range(i, i + len(labels)))]
        groups += [[j] for j in range(i + len(labels), len(v.labels))]
        shape = v.shape[:i] + (math.prod(v.shape[i : i + len(labels)]),) + v.shape[i + len(labels) :]
        out_labels = v.labels[:i] + (new,) + v.labels[i + len(labels) :]
        out = _V(self.fresh("c"), shape, v.elt, out_labels)
        self.emit(
            f"{out.name} = tensor.collapse_shape {v.name} {_groups(groups)} : {v.type} into {out.type}"
        )
        return out

    def slice(self, v: _V, offsets: dict, sizes: dict, strides: dict | None = None) -> _V:
        strides = strides or {}
        offs = [offsets.get(l, 0) for l in v.labels]
        szs = [sizes.get(l, v.size(l)) for l in v.labels]
        sts = [strides.get(l, 1) for l in v.labels]
        if offs == [0] * len(offs) and szs == list(v.shape):
            return v
        out = _V(self.fresh("s"), tuple(szs), v.elt, v.labels)
        self.emit(
            f"{out.name} = tensor.extract_slice {v.name}[{_csv(offs)}] [{_csv(szs)}] [{_csv(sts)}] "
            f": {v.type} to {out.type}"
        )
        return out

    def insert(self, src: _V, dst: _V, offsets: dict, strides: dict) -> _V:
        assert src.labels == dst.labels
        offs = [offsets.get(l, 0) for l in dst.labels]
        sts = [strides.get(l, 1) for l in dst.labels]
        out = _V(self.fresh("i"), dst.shape, dst.elt, dst.labels)
        self.emit(
            f"{out.name} = tensor.insert_slice {src.name} into {dst.name}[{_csv(offs)}] "
            f"[{_csv(src.shape)}] [{_csv(sts)}] : {src.type} into {dst.type}"
        )
        return out

    def pad(self, v: _V, lo: dict, hi: dict) -> _V:
        """Pad (positive) or crop (negative) the labelled dims."""
        offsets, sizes = {}, {}
        for l in v.labels:
            a, b = lo.get(l, 0), hi.get(l, 0)
            if a < 0 or b < 0:
                offsets[l] = max(0, -a)
                sizes[l] = v.size(l) - max(0, -a) - max(0, -b)
                if sizes[l] <= 0:
                    raise UnsupportedError("internal: a crop leaves nothing")
        v = self.slice(v, offsets, sizes)
        plo = [max(0, lo.get(l, 0)) for l in v.labels]
        phi = [max(0, hi.get(l, 0)) for l in v.labels]
        if not any(plo) and not any(phi):
            return v
        shape = tuple(s + a + b for s, a, b in zip(v.shape, plo, phi))
        out = _V(self.fresh("p"), shape, v.elt, v.labels)
        z = self.const(v.elt)
        idx = ", ".join(f"%pi{j}: index" for j in range(len(shape)))
        self.emit(f"{out.name} = tensor.pad {v.name} low[{_csv(plo)}] high[{_csv(phi)}] {{")
        self.emit(f"^bb0({idx}):")
        self.emit(f"  tensor.yield {z} : {v.elt}")
        self.emit(f"}} : {v.type} to {out.type}")
        return out

    def gather(self, src: _V, labels: Sequence[str], shape: Sequence[int], exprs: Sequence[str]) -> _V:
        """out[labels] = src[exprs], exprs being affine expressions of the output labels.

        A generic with `tensor.extract` in its body: linalg's verifier rejects indexing maps
        with negative coefficients (the filter flip), and this runs on the small filter only.
        """
        labels, shape = tuple(labels), tuple(shape)
        names = {l: f"d{i}" for i, l in enumerate(labels)}
        dims = ", ".join(names[l] for l in labels)
        e = self.empty(shape, src.elt, labels)
        out = _V(self.fresh("g"), shape, src.elt, labels)
        its = ", ".join(['"parallel"'] * len(labels))
        self.emit(
            f"{out.name} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>], "
            f"iterator_types = [{its}]}} outs({e.name} : {e.type}) {{"
        )
        self.emit(f"^bb0(%b: {src.elt}):")
        for i in range(len(labels)):
            self.emit(f"  %ix{i} = linalg.index {i} : index")
        idx_all = ", ".join(f"%ix{i}" for i in range(len(labels)))
        subs = []
        for j, ex in enumerate(exprs):
            self.emit(f"  %jx{j} = affine.apply affine_map<({dims}) -> ({_sub(ex, names)})>({idx_all})")
            subs.append(f"%jx{j}")
        self.emit(f"  %val = tensor.extract {src.name}[{', '.join(subs)}] : {src.type}")
        self.emit(f"  linalg.yield %val : {src.elt}")
        self.emit(f"}} -> {out.type}")
        return out

    def table_gather(self, src: _V, labels: Sequence[str], shape: Sequence[int], exprs: Sequence[str]) -> _V:
        """`gather`, vectorised: when src's last dim is read at the innermost output index, the
        other source indices come from small constant i32 tables (input operands over the
        output dims they depend on) and the last from `linalg.index`.

        A plain `gather` has only an output operand, so IREE collapses all its dims into one
        and recomputes every index with divisions: 0.96 ms for a 144x144x5x5 flip. The table
        operands stop that collapse, and the innermost reads become contiguous vector loads
        (0.54 ms). Falls back to `gather` when src's last dim is not read that way.
        """
        labels, shape = tuple(labels), tuple(shape)
        inner = labels[-1]
        deps = [tuple(l for l in labels if "{" + l + "}" in ex) for ex in exprs]
        if exprs[-1] != "{" + inner + "}" or any(inner in d for d in deps[:-1]):
            return self.gather(src, labels, shape, exprs)
        names = {l: f"d{i}" for i, l in enumerate(labels)}
        dims = ", ".join(names[l] for l in labels)
        tables, args, body = [], [], []
        for j, (ex, dep) in enumerate(zip(exprs[:-1], deps[:-1])):
            if not dep:
                body.append(f"  %jx{j} = arith.constant {_eval_index(ex, {})} : index")
                continue
            sizes = [shape[labels.index(l)] for l in dep]
            values = [_eval_index(ex, dict(zip(dep, at))) for at in itertools.product(*map(range, sizes))]
            flat = _V(self.fresh("tbl"), (len(values),), "i32", ("all",))
            self.emit(f"{flat.name} = arith.constant dense<[{_csv(values)}]> : {flat.type}")
            tv = flat
            if len(dep) > 1:
                tv = _V(self.fresh("tbl"), tuple(sizes), "i32", dep)
                self.emit(
                    f"{tv.name} = tensor.expand_shape {flat.name} [[{_csv(range(len(dep)))}]] output_shape "
                    f"[{_csv(sizes)}] : {flat.type} into {tv.type}"
                )
            tables.append((tv, f"affine_map<({dims}) -> ({', '.join(names[l] for l in dep)})>"))
            args.append(f"%ti{j}: i32")
            body.append(f"  %jx{j} = arith.index_cast %ti{j} : i32 to index")
        e = self.empty(shape, src.elt, labels)
        out = _V(self.fresh("g"), shape, src.elt, labels)
        its = ", ".join(['"parallel"'] * len(labels))
        maps = ", ".join([m for _, m in tables] + [f"affine_map<({dims}) -> ({dims})>"])
        ins = f"ins({', '.join(t.name for t, _ in tables)} : {', '.join(t.type for t, _ in tables)}) " if tables else ""
        self.emit(
            f"{out.name} = linalg.generic {{indexing_maps = [{maps}], iterator_types = [{its}]}} "
            f"{ins}outs({e.name} : {e.type}) {{"
        )
        self.emit(f"^bb0({', '.join(args + [f'%b: {src.elt}'])}):")
        for line in body:
            self.emit(line)
        self.emit(f"  %jlast = linalg.index {len(labels) - 1} : index")
        idx = ", ".join([f"%jx{j}" for j in range(len(exprs) - 1)] + ["%jlast"])
        self.emit(f"  %val = tensor.extract {src.name}[{idx}] : {src.type}")
        self.emit(f"  linalg.yield %val : {src.elt}")
        self.emit(f"}} -> {out.type}")
        return out

    def epilogue(self, v: _V, labels: Sequence[str], elt: str, bias: _V | None, bias_label: str | None) -> _V:
        """Transpose v to `labels`, add bias (indexed by bias_label dims), cast to elt: one generic."""
        labels = tuple(labels)
        if bias is None and elt == v.elt:
            return self.transpose(v, labels)
        names = {l: f"d{i}" for i, l in enumerate(labels)}
        dims = ", ".join(names[l] for l in labels)
        maps = [f"affine_map<({dims}) -> ({', '.join(names[l] for l in v.labels)})>"]
        ins = [(v.name, v.type)]
        if bias is not None:
            maps.append(f"affine_map<({dims}) -> ({', '.join(names[l] for l in bias.labels)})>")
            ins.append((bias.name, bias.type))
        maps.append(f"affine_map<({dims}) -> ({dims})>")
        shape = tuple(v.size(l) for l in labels)
        e = self.empty(shape, elt, labels)
        out = _V(self.fresh("y"), shape, elt, labels)
        its = ", ".join(['"parallel"'] * len(labels))
        self.emit(
            f"{out.name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{its}]}} "
            f"ins({', '.join(n for n, _ in ins)} : {', '.join(t for _, t in ins)}) "
            f"outs({e.name} : {e.type}) {{"
        )
        args = [f"%a: {v.elt}"] + ([f"%bb: {bias.elt}"] if bias is not None else []) + [f"%o: {elt}"]
        self.emit(f"^bb0({', '.join(args)}):")
        cur = "%a"
        if bias is not None:
            bb = "%bb"
            if bias.elt != v.elt:
                self.emit(f"  %bx = arith.extf %bb : {bias.elt} to {v.elt}")
                bb = "%bx"
            self.emit(f"  %sum = arith.addf {cur}, {bb} : {v.elt}")
            cur = "%sum"
        if elt != v.elt:
            self.emit(f"  %tr = arith.truncf {cur} : {v.elt} to {elt}")
            cur = "%tr"
        self.emit(f"  linalg.yield {cur} : {elt}")
        self.emit(f"}} -> {out.type}")
        return out


def _csv(xs) -> str:
    return ", ".join(str(x) for x in xs)


def _groups(groups: list[list[int]]) -> str:
    return "[" + ", ".join("[" + _csv(g) + "]" for g in groups) + "]"


def _eval_index(expr: str, values: dict[str, int]) -> int:
    """The value of one of our index templates ("{g} * 4 + {c}", "7 - {k0} * 2") at `values`."""
    text = expr.format(**{k: str(v) for k, v in values.items()})
    if not set(text) <= set("0123456789+-* ()"):
        raise UnsupportedError(f"internal: index template {expr!r}")
    return int(eval(text, {"__builtins__": {}}))  # digits and + - * only, checked above


def _sub(expr: str, names: dict[str, str]) -> str:
    """Replace {label} placeholders in an affine expression template."""
    return expr.format(**names)


# ============================================================================== the conv core


@dataclass
class _Conv:
    """out[n,g,f,o..] = sum_{c,k..} xpad[n,g,c, o*stride + k*dil] * w[g,f,c,k..], xpad = x padded
    by (lo, hi) (negative: cropped). Labels: x has n,g,c,s<i>; w has g,f,c,k<i>."""

    x: _V
    w: _V
    stride: tuple[int, ...]
    dil: tuple[int, ...]
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    out_sp: tuple[int, ...]


def _spatial(n: int, p: str) -> list[str]:
    return [f"{p}{i}" for i in range(n)]


def _conv_core(b: _B, cv: _Conv, style: str, acc_elt: str = "f32") -> _V:
    """Emit the convolution; returns an `acc_elt` tensor labelled n,g,f,s<i> in `style` order."""
    nsp = len(cv.out_sp)
    S, K = _spatial(nsp, "s"), _spatial(nsp, "k")
    x, w = cv.x, cv.w
    G, C, F = x.size("g"), x.size("c"), w.size("f")
    ksz = [w.size(k) for k in K]

    if nsp == 1:
        # Give 1D a unit height and use the 2D ops.
        xr = x.relabel({"s0": "s1"})
        x = b.expand_from(xr, _ins_unit(xr.labels, "s0", "s1"), _shape_ins(xr, "s0", "s1"))
        wr = w.relabel({"k0": "k1"})
        w = b.expand_from(wr, _ins_unit(wr.labels, "k0", "k1"), _shape_ins(wr, "k0", "k1"))
        sub = _Conv(x, w, (1,) + cv.stride, (1,) + cv.dil, (0,) + cv.lo, (0,) + cv.hi, (1,) + cv.out_sp)
        out = _conv_core(b, sub, style, acc_elt)
        out = b.collapse_to(out, [l for l in out.labels if l != "s0"])
        return out.relabel({"s1": "s0"})

    sp = "hw" if nsp == 2 else "dhw"
    depthwise = C == 1 and F == 1 and G > 1
    if depthwise and nsp == 3:
        style = "nhwc"  # there is no channels-first 3D depthwise op
    cl = style == "nhwc"
    if G > 1 and not depthwise:
        # IREE's grouped named ops compile into slow code on CPU (20-40x slower than the
        # ungrouped ones here): one ungrouped conv per group, written into its slice.
        full = ["n"] + (S + ["g", "f"] if cl else ["g", "f"] + S)
        shape = {"n": x.size("n"), "g": G, "f": F, **dict(zip(S, cv.out_sp))}
        res = b.empty([shape[l] for l in full], acc_elt, full)
        for gi in range(G):
            xg = b.slice(x, {"g": gi}, {"g": 1})
            wg = b.slice(w, {"g": gi}, {"g": 1})
            sub = _Conv(xg, wg, cv.stride, cv.dil, cv.lo, cv.hi, cv.out_sp)
            part = _conv_core(b, sub, style, acc_elt)
            res = b.insert(b.transpose(part, full), res, {"g": gi}, {})
        return res
    if G == 1:
        # Unit dims go first (free reshapes), so the ops see plain 4D/5D tensors.
        x = b.collapse_to(x, [l for l in x.labels if l != "g"])
        w = b.collapse_to(w, [l for l in w.labels if l != "g"])
        if cl:
            op, xl, wl, ol = f"conv_{nsp}d_n{sp}c_{sp}cf", ["n"] + S + ["c"], K + ["c", "f"], ["n"] + S + ["f"]
        else:
            op, xl, wl, ol = f"conv_{nsp}d_nc{sp}_fc{sp}", ["n", "c"] + S, ["f", "c"] + K, ["n", "f"] + S
    elif depthwise:
        x = b.collapse_to(x, [l for l in x.labels if l != "c"])
        w = b.collapse_to(w, [l for l in w.labels if l not in ("c", "f")])
        if cl:
            op, xl, wl, ol = f"depthwise_conv_{nsp}d_n{sp}c_{sp}c", ["n"] + S + ["g"], K + ["g"], ["n"] + S + ["g"]
        else:
            op, xl, wl, ol = f"depthwise_conv_{nsp}d_nc{sp}_c{sp}", ["n", "g"] + S, ["g"] + K, ["n", "g"] + S
    else:
        raise UnsupportedError("internal: grouped conv reached the named-op path")

    # Transposes feeding the conv are fenced off: IREE otherwise folds them into the conv,
    # which turns the named op into a generic that compiles into slow loops.
    # The im2col copy reads any layout: a channels-first x goes into it untransposed.
    col_path = (b.im2col and cl and G == 1 and nsp == 2 and all(d == 1 for d in cv.dil)
                and any(k > 1 for k in ksz)
                and bool(_matmul_tiles(x.size("n") * math.prod(cv.out_sp), _padded_width(F), C * math.prod(ksz))))
    if not col_path:
        x = b.transpose(x, xl, barrier=True)
    x = b.pad(x, dict(zip(S, cv.lo)), dict(zip(S, cv.hi)))
    # Exactly the extent the conv reads (named ops require in = (o-1)*s + (k-1)*d + 1 or more).
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(cv.out_sp, cv.stride, ksz, cv.dil)]
    for l, nd in zip(S, need):
        if x.size(l) < nd:
            raise UnsupportedError("internal: padded input shorter than the conv reads")
    x = b.slice(x, {}, dict(zip(S, need)))
    stride = list(cv.stride)
    # A 1-tap dim with a stride reads every s-th row: take them (one copy of the output's size
    # for all such dims) and make the conv stride-1 there, which IREE turns into a matmul if 1x1.
    one_tap = [i for i in range(nsp) if ksz[i] == 1 and stride[i] > 1]
    if one_tap:
        x = b.barrier(b.slice(x, {}, {S[i]: cv.out_sp[i] for i in one_tap}, {S[i]: stride[i] for i in one_tap}))
        for i in one_tap:
            stride[i] = 1
    if G == 1 and cl and all(k == 1 for k in ksz) and all(st == 1 for st in stride):
        return _nhwc_1x1(b, x, w, S, K, acc_elt)
    if nsp == 3 and G == 1 and cl:
        return _conv3d_by_depth_taps(b, x, w, cv, stride, acc_elt)
    if col_path and (C < 16 or 4 * F >= x.size("n") * math.prod(cv.out_sp)):
        # f last, the rest in the filter's own order: a 2D transpose (F x R -> R x F), which
        # IREE ran ~3x faster than FCHW -> HWCF. The im2col copy then follows that order of R,
        # which for FCHW makes its inner runs the filter width instead of the channels: worth
        # it when the filter is not much smaller than the copy, or the channels are few
        # (measured: 0.82x for 144->288 3x3 on 14x14, 0.94x for 3->64 7x7; 1.12x for 32->64
        # 5x5 on 10x14x14, which keeps HWCF).
        wl = [l for l in w.labels if l != "f"] + ["f"]
    widen = b.widen and not (depthwise or G > 1)
    w = b.transposed(w, wl, widen)
    if col_path:
        return _im2col_matmul(b, x, w, cv, stride, acc_elt)  # the copy widens x itself
    if widen:
        x = b.widened(x)
    ints = lambda v: f"dense<[{_csv(v)}]> : tensor<{len(v)}xi64>"  # noqa: E731
    attrs = f"{{dilations = {ints(cv.dil)}, strides = {ints(stride)}}}"
    sizes = {"n": x.size("n"), "g": G, "f": F, "c": C, **dict(zip(S, cv.out_sp))}
    acc = b.zeros([sizes[l] for l in ol], acc_elt, ol)
    out = _V(b.fresh("conv"), acc.shape, acc_elt, acc.labels)
    b.emit(
        f"{out.name} = linalg.{op} {attrs} ins({x.name}, {w.name} : {x.type}, {w.type}) "
        f"outs({acc.name} : {acc.type}) -> {out.type}"
    )
    full = ["n"] + (S + ["g", "f"] if cl else ["g", "f"] + S)
    return b.expand_from(out, full, [sizes[l] for l in full])


def _im2col_matmul(b: _B, x: _V, w: _V, cv: _Conv, stride, acc_elt: str) -> _V:
    """A 2D conv (x padded, any layout; w with f last) as an im2col copy and one tiled matmul.

    This is the rewrite IREE's `--iree-global-opt-use-im2col-for-convs` does (a copy, then a
    matmul), written out so the matmul gets `_matmul_tiles`: a matmul IREE creates itself
    cannot be given tiles. The copy reads x in whatever layout it has, lays the reduction
    dims out in w's order (so w needs no reordering beyond putting f last), and extends x to
    w's element type as it goes.
    """
    S, K = _spatial(2, "s"), _spatial(2, "k")
    red = [l for l in w.labels if l != "f"]  # the reduction dims, in w's order
    col_labels = ["n"] + S + red
    sizes = {"n": x.size("n"), "c": x.size("c"), **dict(zip(S, cv.out_sp)), **{k: w.size(k) for k in K}}
    at = {sl: f"{{{sl}}} * {stride[i]} + {{{kl}}} * {cv.dil[i]}" for i, (sl, kl) in enumerate(zip(S, K))}
    # w.elt is f32 when widening: the copy extends x as it goes.
    col = b.copy(x, col_labels, [sizes[l] for l in col_labels], at, w.elt, "col")
    a = b.merge(b.merge(b.barrier(col), red, "r"), ["n"] + S, "m")
    wm = b.merge(w, red, "r")
    N = wm.size("f")
    out = _tiled_matmul(b, a, wm, acc_elt)
    out = b.split(out, "m", ["n"] + S, [sizes["n"]] + list(cv.out_sp))
    return b.expand_from(out, ["n"] + S + ["g", "f"], [sizes["n"]] + list(cv.out_sp) + [1, N])


def _conv3d_by_depth_taps(b: _B, x: _V, w: _V, cv: _Conv, stride, acc_elt: str) -> _V:
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
        sub = _Conv(xs, ws, tuple(stride[1:]), cv.dil[1:], (0, 0), (0, 0), cv.out_sp[1:])
        part = _conv_core(b, sub, "nhwc", acc_elt)  # labels n, s0, s1, g, f
        total = part if total is None else b.add(total, part)
    total = total.relabel({"s1": "s2", "s0": "s1"})
    return b.split(total, "n", ["n", "s0"], [N, Do])


def _nhwc_1x1(b: _B, x: _V, w: _V, S, K, acc_elt: str) -> _V:
    """Channels-last 1x1 (any rank): y[(n, p), f] = x[(n, p), c] @ W[c, f], one matmul."""
    x = b.transposed(x, ["n"] + S + ["c"], b.widen)
    sizes = [x.size("n")] + [x.size(l) for l in S]
    xm = b.merge(x, ["n"] + S, "m")
    w = b.collapse_to(b.transposed(w, K + ["c", "f"], b.widen), ["c", "f"])
    out = _tiled_matmul(b, xm.relabel({"c": "r"}), w.relabel({"c": "r"}), acc_elt)
    out = b.split(out, "m", ["n"] + S, sizes)
    return b.expand_from(out, ["n"] + S + ["g", "f"], sizes + [1, w.size("f")])


# IREE's llvm-cpu refuses vector ops of 32 KiB or more ("One or more operations with large
# vector sizes (32768 bytes)"), so a tile's iteration space must stay *below* 8192 f32s: 8x16x64
# and 8x32x32 tiles failed to compile (bench/compile_sweep.py, docs/compile_sweep.md).
_VECTOR_ELEMS = 8192


def _matmul_tiles(M: int, N: int, K: int, batch: bool = False) -> str:
    """A `compilation_info` for an f32 (batch) matmul MxNxK, or "" to keep IREE's choice.

    IREE's default on AVX-512 is an 8x16 register tile with a 16-deep reduction step. An 8x32
    tile (16 accumulators, two loads of B per broadcast of A) ran 1.2-1.6x faster on the suite's
    1x1 shapes, and a short K (<= 64) done in one step ~2x faster (2499x832x48: 3.1 -> 1.4 ms);
    bench/matmul_tiles.py measures it. Every tile divides its dimension: a remainder disables
    IREE's peeling for user-set configs and ran 2x slower.
    """
    def largest(n, cands):
        return next(c for c in cands if n % c == 0)

    def divisor(n, step, cap):  # the largest multiple of `step` <= cap dividing n
        return max([d for d in range(step, min(n, cap) + 1, step) if n % d == 0], default=step)

    if N % 32 and not (N % 16 == 0 and K <= 64):
        return ""  # no measured gain over IREE's own choice (35 columns: 1.25x slower)
    vm = largest(M, (8, 7, 6, 5, 4, 3, 2, 1))
    vn = 32 if N % 32 == 0 else 16
    budget = (_VECTOR_ELEMS - 1) // (vm * vn)
    r = K if K <= min(budget, 64) else max(d for d in range(1, min(16, budget) + 1) if K % d == 0)
    dist, vec, red = [divisor(M, vm, 64), divisor(N, vn, 128), 0], [vm, vn, 0], [0, 0, r]
    if batch:
        dist, vec, red = [1] + dist, [1] + vec, [0] + red
    return (
        "{compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
        f"distribution = [{_csv(dist)}], vector_common_parallel = [{_csv(vec)}], vector_reduction = [{_csv(red)}]>, "
        "translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} "
    )


def _padded_width(n: int) -> int:
    return -(-n // 16) * 16 if n % 16 and n < 64 else n


def _tiled_matmul(b: _B, a: _V, w: _V, acc_elt: str) -> _V:
    """a[m, r] @ w[r, f] -> [m, f] (acc_elt), with `_matmul_tiles` when f32.

    A narrow odd f (< 64, not a multiple of 16) is padded with zero filter columns to the next
    multiple of 16 and the result sliced back: IREE's own choice for 81408x35x35 (an 8x7
    register tile) ran 2.9 ms, the same matmul 35 wide padded to 48 with tiles 1.2 ms.
    """
    M, R, N = a.size("m"), a.size("r"), w.size("f")
    f32 = b.cpu and acc_elt == "f32" and a.elt == "f32" and w.elt == "f32"
    Np = _padded_width(N) if f32 else N
    if Np != N:
        w = b.barrier(b.pad(w, {}, {"f": Np - N}))
    acc = b.zeros([M, Np], acc_elt, ["m", "f"])
    out = _V(b.fresh("mm"), acc.shape, acc_elt, acc.labels)
    tiles = _matmul_tiles(M, Np, R) if f32 else ""
    b.emit(
        f"{out.name} = linalg.matmul {tiles}ins({a.name}, {w.name} : {a.type}, {w.type}) "
        f"outs({acc.name} : {acc.type}) -> {out.type}"
    )
    return b.slice(out, {}, {"f": N})


def _ins_unit(labels, before: str, unit: str):
    # labels contain `unit` (renamed spatial); insert `before` right before it.
    out = []
    for l in labels:
        if l == unit:
            out.append(before)
        out.append(l)
    return tuple(out)


def _shape_ins(v: _V, before: str, unit: str):
    out = []
    for l, s in zip(v.labels, v.shape):
        if l == unit:
            out.append(1)
        out.append(s)
    return tuple(out)


def _with_f(labels):
    out = []
    for l in labels:
        out.append(l)
        if l == "g":
            out.append("f")
    return tuple(out)


def _with_f_shape(v: _V):
    out = []
    for l, s in zip(v.labels, v.shape):
        out.append(s)
        if l == "g":
            out.append(1)
    return tuple(out)


# ============================================================================== directions


@dataclass
class _Plan:
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


def _plan(sig: ConvSignature) -> _Plan:
    n = sig.num_spatial_dims
    cin = sig._canon_input_shape
    cout = sig._canon_output_shape
    ck = sig._canon_kernel_shape
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
    return _Plan(sig, n, G, Cg, Kg, tuple(X[2:]), tuple(Y[2:]), tuple(ck[2:]), xl, yl, op)


def _letters_to_labels(layout: str, chan: str) -> list[str]:
    """Layout letters -> labels: N->n, C->chan (a channel role, split later), D/H/W -> s<i>."""
    sp = [ch for ch in layout if ch not in "NC"]
    canon_sp = [ch for ch in "DHW" if ch in layout]
    out = []
    for ch in layout:
        if ch == "N":
            out.append("n")
        elif ch == "C":
            out.append(chan)
        else:
            out.append(f"s{canon_sp.index(ch)}")
    del sp
    return out


def _arg(b: _B, idx: int, shape, elt, labels) -> _V:
    return _V(f"%arg{idx}", tuple(shape), elt, tuple(labels))


def _style_for(layout: str, k_sp: Sequence[int]) -> str:
    """Always channels-last (kept as a function: the one place to change the choice).

    IREE's channels-first direct convs vectorise along the output width and compile into very
    slow code for widths like 7, 14, 19 or for strides (up to 100x slower than torch here);
    a transpose of the input to channels-last costs one pass over it. Channels-first 1x1 as a
    batch matmul with the filter broadcast measured 2-5x slower than transpose + matmul.
    """
    return "nhwc"


def _finish(b: _B, out: _V, layout: str, chan_roles: tuple[str, str], elt: str, bias: _V | None) -> _V:
    """out (f32, labels n, g, <f or c>, s..) -> the signature layout, cast to elt, plus bias."""
    g, ch = chan_roles
    labels = _letters_to_labels(layout, "C")
    expanded = []
    for l in labels:
        expanded += [g, ch] if l == "C" else [l]
    bias_v = None
    if bias is not None:
        bias_v = b.split(bias, "C", [g, ch], [out.size(g), out.size(ch)])
    if [l for l in out.labels if out.size(l) != 1] != [l for l in expanded if out.size(l) != 1]:
        out = b.barrier(out)  # keep the layout change out of the conv's dispatch
    y = b.epilogue(out, expanded, elt, bias_v, None)
    return b.merge(y, [g, ch], "C")


def _emit_fwd(b: _B, P: _Plan, xv: _V, wv: _V, elt: str, bias: _V | None, out_layout: str) -> _V:
    """Normal forward: Y = conv(X, W)."""
    S, K = _spatial(P.nsp, "s"), _spatial(P.nsp, "k")
    sig = P.sig
    x = b.split(xv, "C", ["g", "c"], [P.G, P.Cg])
    w = b.split(wv, "N", ["g", "f"], [P.G, P.Kg]).relabel({"C": "c"})
    lo, hi = [], []
    for i in range(P.nsp):
        s, p, d, k = sig.stride[i], sig.padding[i], sig.dilation[i], P.k_sp[i]
        need = (P.y_sp[i] - 1) * s + (k - 1) * d + 1
        lo.append(p)
        hi.append(need - P.x_sp[i] - p)
    style = _style_for(P.x_layout, P.k_sp)
    out = _conv_core(b, _Conv(x, w, tuple(sig.stride), tuple(sig.dilation), tuple(lo), tuple(hi), P.y_sp), style)
    return _finish(b, out, out_layout, ("g", "f"), elt, bias)


def _phase_params(xsz, ysz, k, s, p, d, phi):
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


def _emit_bwd(b: _B, P: _Plan, dyv: _V, wv: _V, elt: str, bias: _V | None, out_layout: str) -> _V:
    """Normal backward data: X = conv^T(Y, W), by stride phases."""
    sig = P.sig
    S, K = _spatial(P.nsp, "s"), _spatial(P.nsp, "k")
    # dy: channel role "c" (it is the reduction of the phase convs), split into groups.
    dy = b.split(dyv, "C", ["g", "c"], [P.G, P.Kg])
    style = _style_for(P.y_layout, P.k_sp)
    per_dim = []
    for i in range(P.nsp):
        s = sig.stride[i]
        per_dim.append([
            _phase_params(P.x_sp[i], P.y_sp[i], P.k_sp[i], s, sig.padding[i], sig.dilation[i], phi)
            for phi in range(s)
        ])
    phases = list(itertools.product(*[range(sig.stride[i]) for i in range(P.nsp)]))
    out_labels = ["n"] + (S + ["g", "f"] if style == "nhwc" else ["g", "f"] + S)
    full_shape = [{"n": dy.size("n"), "g": P.G, "f": P.Cg}.get(l) or P.x_sp[S.index(l)] for l in out_labels]
    # Kernel letters -> positions of W's dims.
    kl = sig.kernel_layout
    canon_sp = [ch for ch in "DHW" if ch in kl]
    result = None
    pieces = []
    any_empty = False
    for ph in phases:
        prm = [per_dim[i][ph[i]] for i in range(P.nsp)]
        if any(q is None for q in prm):
            continue  # no output positions in this phase
        if any(q["J"] == 0 for q in prm):
            any_empty = True
            continue
        # Filter of the phase: wp[g, f=Cg, c=Kg, j..] = W[(g*Kg + c), f, r0 + step*(J-1-j)].
        # Gathered straight into the order the conv reads (HWCF when channels-last): a second
        # pass to transpose it cost as much as the gather (~0.5 ms for a 144x144x5x5 filter).
        sizes = {"g": P.G, "f": P.Cg, "c": P.Kg, **{k: q["J"] for k, q in zip(K, prm)}}
        wl = ["g"] + K + ["c", "f"] if style == "nhwc" else ["g", "f", "c"] + K
        wshape = [sizes[l] for l in wl]
        exprs = []
        for ch in kl:
            if ch == "N":
                exprs.append(f"{{g}} * {P.Kg} + {{c}}" if P.G > 1 else "{c}")
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
        cv = _Conv(dy, wp, (1,) * P.nsp, tuple(q["dil"] for q in prm), tuple(q["lo"] for q in prm),
                   tuple(q["hi"] for q in prm), tuple(q["Q"] for q in prm))
        piece = _conv_core(b, cv, style)
        pieces.append((ph, piece))
    if len(pieces) == 1 and not any_empty and all(s == 1 for s in sig.stride):
        result = pieces[0][1]
    else:
        base = b.zeros(full_shape, "f32", out_labels) if (any_empty or not pieces) else b.empty(full_shape, "f32", out_labels)
        result = base
        for ph, piece in pieces:
            piece = b.transpose(piece, out_labels)
            result = b.insert(piece, result, dict(zip(S, ph)), dict(zip(S, sig.stride)))
    return _finish(b, result, out_layout, ("g", "f"), elt, bias)


def _emit_wrw(b: _B, P: _Plan, dyv: _V, xv: _V, elt: str, out_layout: str) -> _V:
    """Normal backward weights: dW[g,k,c,r] = sum_{n,o} dy[n,g,k,o] * xpad[n,g,c,o*s + r*d]."""
    S = _spatial(P.nsp, "s")
    x = b.split(xv, "C", ["g", "c"], [P.G, P.Cg])
    dy = b.split(dyv, "C", ["g", "k"], [P.G, P.Kg])
    if P.G > 1 and P.Cg == 1 and P.Kg == 1:
        out = _wrw_depthwise(b, P, dy, x)
        return _finish_kernel(b, out, P, elt, out_layout, S)
    full = ["g", "kk", "cc"] + S
    res = None
    for gi in range(P.G):
        xg = b.collapse_to(b.slice(x, {"g": gi}, {"g": 1}), [l for l in x.labels if l != "g"])
        dg = b.collapse_to(b.slice(dy, {"g": gi}, {"g": 1}), [l for l in dy.labels if l != "g"])
        part = _wrw_im2col(b, P, dg, xg)  # labels kk, cc, s..
        part = b.expand_from(part, ["g"] + list(part.labels), (1,) + part.shape)
        if P.G == 1:
            res = part
            break
        if res is None:
            res = b.empty([P.G, P.Kg, P.Cg] + list(P.k_sp), "f32", full)
        res = b.insert(b.transpose(part, full), res, {"g": gi}, {})
    return _finish_kernel(b, res, P, elt, out_layout, S)


def _wrw_pads(P: _Plan) -> tuple[list[int], list[int]]:
    sig = P.sig
    lo, hi = [], []
    for i in range(P.nsp):
        s, p, d = sig.stride[i], sig.padding[i], sig.dilation[i]
        need = (P.k_sp[i] - 1) * d + (P.y_sp[i] - 1) * s + 1
        lo.append(p)
        hi.append(need - P.x_sp[i] - p)
    return lo, hi


def _wrw_im2col(b: _B, P: _Plan, dy: _V, x: _V) -> _V:
    """One group: an im2col copy of x, then a batch matmul over n, then a sum over n.

    dy channels-last: col[n, (r.., c), o] x dy[n, o, k] -> [n, rc, k];
    dy channels-first: dy[n, k, o] x col[n, o, (r.., c)] -> [n, k, rc].
    Returns f32 labelled kk, cc, s<i> (s<i> = the filter taps).
    """
    sig = P.sig
    S, K, O = _spatial(P.nsp, "s"), _spatial(P.nsp, "k"), _spatial(P.nsp, "o")
    lo, hi = _wrw_pads(P)
    x = b.pad(x, dict(zip(S, lo)), dict(zip(S, hi)))
    cl = dy.labels[-1] == "k"
    dy = b.transpose(dy, ["n"] + S + ["k"] if cl else ["n", "k"] + S, barrier=True)
    # The copy's inner run: the channels, except for a channels-first x with few of them (3
    # for an RGB input layer), where the filter width reads contiguously instead (and the
    # result comes out FCHW): 11x11 stride-4 on 3 channels, 0.88 -> 0.5 ms.
    taps = ["c"] + K if not cl and P.Cg < 16 else K + ["c"]
    col_labels = ["n"] + taps + O if cl else ["n"] + O + taps
    sizes = {"n": x.size("n"), "c": P.Cg, **dict(zip(K, P.k_sp)), **dict(zip(O, P.y_sp))}
    at = {S[i]: f"{{{O[i]}}} * {sig.stride[i]} + {{{K[i]}}} * {sig.dilation[i]}" for i in range(P.nsp)}
    # Widened, the copy writes f32 (in a dispatch of its own, see _B.widened) and dy is extended
    # too: IREE's bf16 batch matmul ran 2.5-3x slower than the f32 one with tiles.
    col = b.copy(x, col_labels, [sizes[l] for l in col_labels], at, "f32" if b.widen else x.elt, "col")
    if b.widen:
        col, dy = b.barrier(col), b.widened(dy)
    rc = math.prod(P.k_sp) * P.Cg
    o = math.prod(P.y_sp)
    N, Kg = sizes["n"], P.Kg
    if cl:
        a = b.merge(b.merge(col, taps, "rc"), O, "o")
        bb = b.merge(dy, S, "o")
        out_labels, out_shape = ["n", "rc", "kk"], [N, rc, Kg]
    else:
        a = b.merge(dy, S, "o")
        bb = b.merge(b.merge(col, taps, "rc"), O, "o")
        out_labels, out_shape = ["n", "kk", "rc"], [N, Kg, rc]
    acc = b.zeros(out_shape, "f32", out_labels)
    mm = _V(b.fresh("bmm"), acc.shape, "f32", acc.labels)
    tiles = _matmul_tiles(*out_shape[1:], a.size("o"), batch=True) if b.cpu and a.elt == "f32" else ""
    b.emit(
        f"{mm.name} = linalg.batch_matmul {tiles}ins({a.name}, {bb.name} : {a.type}, {bb.type}) "
        f"outs({acc.name} : {acc.type}) -> {mm.type}"
    )
    if N == 1:
        red = b.collapse_to(mm, [l for l in mm.labels if l != "n"])
    else:
        rl = [l for l in out_labels if l != "n"]
        acc2 = b.zeros([mm.size(l) for l in rl], "f32", rl)
        red = _V(b.fresh("sum"), acc2.shape, "f32", acc2.labels)
        b.emit(
            f"{red.name} = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0, d1)>, "
            f"affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = [\"parallel\", \"parallel\", \"reduction\"]}} "
            f"ins({mm.name} : {mm.type}) outs({acc2.name} : {acc2.type}) {{"
        )
        b.emit("^bb0(%a: f32, %o: f32):")
        b.emit("  %s = arith.addf %a, %o : f32")
        b.emit("  linalg.yield %s : f32")
        b.emit(f"}} -> {red.type}")
    rr = ["cc" if l == "c" else l for l in taps]
    red = b.split(red, "rc", rr, [P.Cg if l == "cc" else P.k_sp[K.index(l)] for l in rr])
    return b.transpose(red, ["kk", "cc"] + K).relabel(dict(zip(K, S)))


def _wrw_depthwise(b: _B, P: _Plan, dy: _V, x: _V) -> _V:
    """Depthwise: dW[g, r] = sum_{n,o} dy[n,g,o] * xpad[n,g,o*s + r*d], one generic reduction
    (vectorised along the channels). Returns f32 labelled cc, g, kk, s<i>."""
    sig = P.sig
    S, K, O = _spatial(P.nsp, "s"), _spatial(P.nsp, "k"), _spatial(P.nsp, "o")
    lo, hi = _wrw_pads(P)
    x = b.collapse_to(b.pad(x, dict(zip(S, lo)), dict(zip(S, hi))), [l for l in x.labels if l != "c"])
    dy = b.collapse_to(dy, [l for l in dy.labels if l != "k"])
    cl = dy.labels[-1] == "g"
    ol = K + ["g"] if cl else ["g"] + K
    it = ol + ["n"] + O
    names = {l: f"d{i}" for i, l in enumerate(it)}
    dims = ", ".join(names[l] for l in it)

    def xe(l):
        if l in S:
            i = S.index(l)
            return f"{names[O[i]]} * {sig.stride[i]} + {names[K[i]]} * {sig.dilation[i]}"
        return names[l]

    xmap = ", ".join(xe(l) for l in x.labels)
    dmap = ", ".join(names[dict(zip(S, O)).get(l, l)] for l in dy.labels)
    acc = b.zeros([P.G if l == "g" else P.k_sp[K.index(l)] for l in ol], "f32", ol)
    out = _V(b.fresh("dw"), acc.shape, "f32", acc.labels)
    its = ", ".join(['"parallel"'] * len(ol) + ['"reduction"'] * (1 + P.nsp))
    b.emit(
        f"{out.name} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({xmap})>, "
        f"affine_map<({dims}) -> ({dmap})>, affine_map<({dims}) -> ({', '.join(names[l] for l in ol)})>], "
        f"iterator_types = [{its}]}} ins({x.name}, {dy.name} : {x.type}, {dy.type}) outs({acc.name} : {acc.type}) {{"
    )
    b.emit(f"^bb0(%a: {x.elt}, %w: {dy.elt}, %o: f32):")
    av, wv = "%a", "%w"
    if x.elt != "f32":
        b.emit(f"  %ax = arith.extf %a : {x.elt} to f32")
        b.emit(f"  %wx = arith.extf %w : {dy.elt} to f32")
        av, wv = "%ax", "%wx"
    b.emit(f"  %m = arith.mulf {av}, {wv} : f32")
    b.emit("  %s = arith.addf %o, %m : f32")
    b.emit("  linalg.yield %s : f32")
    b.emit(f"}} -> {out.type}")
    out = out.relabel(dict(zip(K, S)))
    return b.expand_from(out, ["cc", "kk"] + list(out.labels), (1, 1) + out.shape)


def _finish_kernel(b: _B, out: _V, P: _Plan, elt: str, layout: str, S) -> _V:
    """out labels: cc, g, kk, s<i> (f32) -> kernel layout (N = g*Kg + kk, C = cc)."""
    canon_sp = [ch for ch in "DHW" if ch in layout]
    expanded = []
    for ch in layout:
        if ch == "N":
            expanded += ["g", "kk"]
        elif ch == "C":
            expanded.append("cc")
        else:
            expanded.append(S[canon_sp.index(ch)])
    y = b.epilogue(out, expanded, elt, None, None)
    return b.merge(y, ["g", "kk"], "N")


# ============================================================================== public API


def _checked_plan(sig: ConvSignature) -> _Plan:
    """The plan for `sig`, or UnsupportedError for what this module will not lower."""
    if sig.dtype not in _ELT:
        raise UnsupportedError(f"dtype {sig.dtype} has no lowering")
    P = _plan(sig)
    if P.G > MAX_GROUP_LOOP and not (P.Cg == 1 and P.Kg == 1):
        raise UnsupportedError(
            f"{P.G} groups of {P.Cg}->{P.Kg} channels: the per-group lowering would emit {P.G} "
            f"convolutions (limit {MAX_GROUP_LOOP}); use the generic export"
        )
    return P


def choose_strategy(sig: ConvSignature) -> str:
    """The name of the IR strategy `emit_mlir` uses for `sig` (raises UnsupportedError).

    `<kind>-<layout>[-groups]`: kind is `direct` (forward conv), `phase` (backward data by
    stride phases; a single phase when the stride is 1), `wrw-im2col` (im2col + batch matmul)
    or `wrw-depthwise` (one reduction generic); `-depthwise` marks the depthwise named ops,
    `-groups` one ungrouped conv per group.
    """
    P = _checked_plan(sig)
    depthwise = P.G > 1 and P.Cg == 1 and P.Kg == 1
    if P.op == "wrw":
        if depthwise:
            return "wrw-depthwise"
        return "wrw-im2col" + ("-groups" if P.G > 1 else "")
    layout = P.x_layout if P.op == "fwd" else P.y_layout
    style = _style_for(layout, P.k_sp)
    if depthwise and P.nsp == 3:
        style = "nhwc"
    kind = "direct" if P.op == "fwd" else "phase"
    suffix = "-depthwise" if depthwise else ("-groups" if P.G > 1 else "")
    return f"{kind}-{style}{suffix}"


def recommended_flags(target_name: str = "llvm-cpu", sig: ConvSignature | None = None) -> list[str]:
    """Extra iree-compile flags found helpful for the IR `emit_mlir(sig)` gives on `target_name`.

    Pass the signature: the flags depend on it, and the IR is written for them (use the pair
    together). Without a signature the answer is the flags safe for every signature (none).

    llvm-cpu: ukernels (`--iree-llvmcpu-enable-ukernels=all`: the matmuls, the im2col'd convs
    and the wrw batch matmuls ran 1.3-2.5x faster with them), and IREE's im2col rewrite of channels-last convs (`--iree-global-opt-use-im2col-for-
    convs`) for every non-depthwise signature; `emit_mlir` then feeds the convs f32 operands
    (the rewrite fails to compile mixed bf16/f32 convs, and depthwise ones in some shapes).
    Measured by bench/lowering_probe.py: it rescues the shapes IREE's direct conv vectorises
    badly (odd widths, strides, dilations, non-square filters: 3-170x faster there) at a small
    cost on some plain 3x3 convs.
    """
    if sig is None or target_name not in _CPU_TARGETS:
        return []
    try:
        _checked_plan(sig)
    except UnsupportedError:
        return []  # not lowered here: the export path, which gets no extra flags
    flags = ["--iree-llvmcpu-enable-ukernels=all"]
    return flags + (["--iree-global-opt-use-im2col-for-convs"] if _use_im2col(sig) else [])


def _use_im2col(sig: ConvSignature) -> bool:
    try:
        P = _plan(sig)
    except UnsupportedError:
        return False
    return not (P.G > 1 and P.Cg == 1 and P.Kg == 1)


def emit_mlir(sig: ConvSignature, target_name: str = "llvm-cpu") -> str:
    """MLIR text of a module with `func.func @<sig.func_name>` computing `sig` on builtin tensors.

    Arguments and result follow `sig.arg_shapes` / `sig.result_shape` (layouts, dtype), exactly
    as `sig.get_nn_module()`. Raises `UnsupportedError` when no exact lowering exists.
    `target_name` matters only for the CPU-specific parts (tile configurations, the im2col +
    tiled matmul path, padded widths); other targets get the same IR without them.
    """
    P = _checked_plan(sig)
    elt = _ELT[sig.dtype]
    b = _B()
    b.cpu = target_name in _CPU_TARGETS
    b.widen = _use_im2col(sig)
    # Measured per family: grouped 3D convs ran 0.8x the time this way, grouped 2D ones up to
    # 1.6x (a 1x3 grouped backward-data conv), so those keep IREE's own lowering.
    b.im2col = b.cpu and b.widen and (P.G == 1 or P.nsp == 3)
    shapes = sig.arg_shapes
    if sig.mode is Mode.FWD:
        a0 = _arg(b, 0, shapes[0], elt, _letters_to_labels(sig.input_layout, "C"))
        a1 = _arg(b, 1, shapes[1], elt, _kernel_labels(sig.kernel_layout))
        bias = _arg(b, 2, shapes[2], elt, ["C"]) if sig.bias else None
        if sig.transposed:
            res = _emit_bwd(b, P, a0, a1, elt, bias, sig.output_layout)
        else:
            res = _emit_fwd(b, P, a0, a1, elt, bias, sig.output_layout)
    elif sig.mode is Mode.BWD:
        a0 = _arg(b, 0, shapes[0], elt, _letters_to_labels(sig.output_layout, "C"))
        a1 = _arg(b, 1, shapes[1], elt, _kernel_labels(sig.kernel_layout))
        if sig.transposed:
            res = _emit_fwd(b, P, a0, a1, elt, None, sig.input_layout)
        else:
            res = _emit_bwd(b, P, a0, a1, elt, None, sig.input_layout)
    else:
        a0 = _arg(b, 0, shapes[0], elt, _letters_to_labels(sig.output_layout, "C"))
        a1 = _arg(b, 1, shapes[1], elt, _letters_to_labels(sig.input_layout, "C"))
        if sig.transposed:
            # dW of y = conv^T(x, W): the normal wrw with dy := x (Y role) and x := dy (X role).
            res = _emit_wrw(b, P, a1, a0, elt, sig.kernel_layout)
        else:
            res = _emit_wrw(b, P, a0, a1, elt, sig.kernel_layout)
    if res.shape != tuple(sig.result_shape):
        raise UnsupportedError(f"internal: result shape {res.shape} != {sig.result_shape}")
    args = ", ".join(f"%arg{i}: {_tt(s, elt)}" for i, s in enumerate(shapes))
    head = f"  func.func @{sig.func_name}({args}) -> {res.type} {{"
    body = "\n".join(b.lines)
    return f"module {{\n{head}\n{body}\n    return {res.name} : {res.type}\n  }}\n}}\n"


def _kernel_labels(layout: str) -> list[str]:
    canon_sp = [ch for ch in "DHW" if ch in layout]
    return [ch if ch in "NC" else f"k{canon_sp.index(ch)}" for ch in layout]
