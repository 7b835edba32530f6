"""A small textual MLIR builder for tensors whose dims carry role labels.

Every value is a `TensorValue`: an SSA name, a shape, an element type and one label per dim
(n batch, g group, c/f/kk/cc channel roles, s<i> spatial positions, k<i> filter taps, ...).
Ops address dims by label, so a transpose, a pad or a slice says which dims it means and the
builder works out the permutation, the reassociation or the offsets.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

from ..errors import UnsupportedError

# Every constant the IR needs is a float zero (fills and pad values); MLIR prints it this way
# for f32, f16 and bf16 alike.
ZERO = "0.000000e+00"


def tensor_type(shape: Sequence[int], elt: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elt + ">"


@dataclass(frozen=True)
class TensorValue:
    """An SSA tensor value whose dims carry role labels (n, g, c, f, s0.., k0..)."""

    name: str
    shape: tuple[int, ...]
    elt: str
    labels: tuple[str, ...]

    @property
    def type(self) -> str:
        return tensor_type(self.shape, self.elt)

    def size(self, label: str) -> int:
        return self.shape[self.labels.index(label)]

    def relabel(self, mapping: dict[str, str]) -> "TensorValue":
        return TensorValue(self.name, self.shape, self.elt, tuple(mapping.get(l, l) for l in self.labels))


@dataclass(frozen=True)
class LoweringOptions:
    """How the IR is tuned; fixed for one signature before any IR is written.

    cpu: llvm-cpu tile configurations on the matmuls and padded narrow widths (a GPU compile
    rejects the tiles). widen: narrow conv/matmul operands extended to f32 in a dispatch of
    their own (`IRBuilder.widened`). im2col: plain 2D convs written as im2col + a tiled matmul
    (`conv_core.im2col_matmul`).
    """

    cpu: bool = True
    widen: bool = False
    im2col: bool = False


def csv(xs) -> str:
    return ", ".join(str(x) for x in xs)


def reassociation(groups: list[list[int]]) -> str:
    return "[" + ", ".join("[" + csv(g) + "]" for g in groups) + "]"


def eval_index(expr: str, values: dict[str, int]) -> int:
    """The value of one of our index templates ("{g} * 4 + {c}", "7 - {k0} * 2") at `values`."""
    text = expr.format(**{k: str(v) for k, v in values.items()})
    if not set(text) <= set("0123456789+-* ()"):
        raise UnsupportedError(f"internal: index template {expr!r}")
    return int(eval(text, {"__builtins__": {}}))  # digits and + - * only, checked above


def substitute(expr: str, names: dict[str, str]) -> str:
    """Replace {label} placeholders in an affine expression template."""
    return expr.format(**names)


def dim_names(labels: Sequence[str]) -> tuple[dict[str, str], str]:
    """The affine dim name of each label (d0, d1, ...) and the map's dim list "d0, d1, ..."."""
    names = {l: f"d{i}" for i, l in enumerate(labels)}
    return names, ", ".join(names[l] for l in labels)


def affine_map(dims: str, results: str) -> str:
    return f"affine_map<({dims}) -> ({results})>"


class IRBuilder:
    """Lines of one function body, fresh SSA names, and the ops the lowering writes."""

    def __init__(self, options: LoweringOptions = LoweringOptions()) -> None:
        self.options = options
        self.lines: list[str] = []
        self._counter = 0
        self._zeros: dict[str, str] = {}

    def fresh(self, hint: str = "v") -> str:
        self._counter += 1
        return f"%{hint}{self._counter}"

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def zero(self, elt: str) -> str:
        if elt not in self._zeros:
            name = f"%zero_{elt}"
            self.emit(f"{name} = arith.constant {ZERO} : {elt}")
            self._zeros[elt] = name
        return self._zeros[elt]

    def generic(self, hint: str, inputs: Sequence[TensorValue], init: TensorValue, maps: Sequence[str],
                iterators: Sequence[str], block_args: Sequence[str], body: Sequence[str]) -> TensorValue:
        """One `linalg.generic` writing into `init`: `maps` index the inputs then the output,
        `body` is the region after its block header (`block_args`), ending in its yield."""
        out = TensorValue(self.fresh(hint), init.shape, init.elt, init.labels)
        its = ", ".join(f'"{i}"' for i in iterators)
        ins = f"ins({', '.join(v.name for v in inputs)} : {', '.join(v.type for v in inputs)}) " if inputs else ""
        self.emit(
            f"{out.name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{its}]}} "
            f"{ins}outs({init.name} : {init.type}) {{"
        )
        self.emit(f"^bb0({', '.join(block_args)}):")
        for line in body:
            self.emit("  " + line)
        self.emit(f"}} -> {out.type}")
        return out

    # ---------------------------------------------------------------- structural ops
    def empty(self, shape, elt, labels) -> TensorValue:
        v = TensorValue(self.fresh("e"), tuple(shape), elt, tuple(labels))
        self.emit(f"{v.name} = tensor.empty() : {v.type}")
        return v

    def zeros(self, shape, elt, labels) -> TensorValue:
        e = self.empty(shape, elt, labels)
        z = self.zero(elt)
        v = TensorValue(self.fresh("z"), e.shape, elt, e.labels)
        self.emit(f"{v.name} = linalg.fill ins({z} : {elt}) outs({e.name} : {e.type}) -> {v.type}")
        return v

    def copy(self, src: TensorValue, labels: Sequence[str], shape: Sequence[int], at: dict, elt: str,
             hint: str = "w") -> TensorValue:
        """out[labels] = src[...] extended to `elt`: src's dim l is read at `at[l]`, an affine
        template of the output labels ("{s0} * 2 + {k0}"), or at output dim l if absent.
        One generic with an input map: the im2col copies, and plain widening."""
        labels, shape = tuple(labels), tuple(shape)
        names, dims = dim_names(labels)
        read = ", ".join(substitute(at.get(l, "{" + l + "}"), names) for l in src.labels)
        init = self.empty(shape, elt, labels)
        body = [f"%x = arith.extf %a : {src.elt} to {elt}"] if elt != src.elt else []
        body.append(f"linalg.yield {'%x' if elt != src.elt else '%a'} : {elt}")
        return self.generic(hint, [src], init, [affine_map(dims, read), affine_map(dims, dims)],
                            ["parallel"] * len(labels), [f"%a: {src.elt}", f"%o: {elt}"], body)

    def extf(self, v: TensorValue, elt: str = "f32") -> TensorValue:
        return v if v.elt == elt else self.copy(v, v.labels, v.shape, {}, elt)

    def widened(self, v: TensorValue) -> TensorValue:
        """`v` as f32 in its own dispatch: IREE's bf16 matmul code ran ~2x slower than f32 here
        (oneDNN's bf16 is slower than its f32 too), and fused into the matmul the extension
        turns it into a generic that compiles no better."""
        return v if v.elt == "f32" else self.barrier(self.extf(v))

    def transposed(self, v: TensorValue, labels: Sequence[str], widen: bool) -> TensorValue:
        """`v` transposed to `labels` behind a barrier, and extended to f32 in the same dispatch
        when `widen` (one pass over it, not two)."""
        if not widen or v.elt == "f32":
            return self.transpose(v, labels, barrier=True)
        return self.widened(self.transpose(v, labels))

    def add(self, a: TensorValue, c: TensorValue) -> TensorValue:
        assert a.labels == c.labels and a.shape == c.shape
        init = self.empty(a.shape, a.elt, a.labels)
        _, dims = dim_names(range(len(a.shape)))
        identity = affine_map(dims, dims)
        return self.generic("add", [a, c], init, [identity] * 3, ["parallel"] * len(a.shape),
                            [f"%a: {a.elt}", f"%c: {a.elt}", f"%o: {a.elt}"],
                            [f"%s = arith.addf %a, %c : {a.elt}", f"linalg.yield %s : {a.elt}"])

    def barrier(self, v: TensorValue) -> TensorValue:
        out = TensorValue(self.fresh("ob"), v.shape, v.elt, v.labels)
        self.emit(f"{out.name} = util.optimization_barrier {v.name} : {v.type}")
        return out

    def transpose(self, v: TensorValue, labels: Sequence[str], barrier: bool = False) -> TensorValue:
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
        out = TensorValue(self.fresh("t"), shape, v.elt, labels)
        self.emit(
            f"{out.name} = linalg.transpose ins({v.name} : {v.type}) outs({e.name} : {e.type}) "
            f"permutation = [{', '.join(map(str, perm))}]"
        )
        return self.barrier(out) if barrier else out

    def _reshape_units(self, v: TensorValue, labels, shape) -> TensorValue:
        # Collapse to the non-unit dims, then expand to the wanted order.
        big = [l for l in v.labels if v.size(l) != 1]
        mid = self.collapse_to(v, big)
        return self.expand_from(mid, labels, shape)

    def collapse_to(self, v: TensorValue, keep: Sequence[str]) -> TensorValue:
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
        out = TensorValue(self.fresh("c"), shape, v.elt, tuple(keep))
        self.emit(
            f"{out.name} = tensor.collapse_shape {v.name} {reassociation(groups)} : {v.type} into {out.type}"
        )
        return out

    def expand_from(self, v: TensorValue, labels, shape) -> TensorValue:
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
        out = TensorValue(self.fresh("x"), shape, v.elt, labels)
        self.emit(
            f"{out.name} = tensor.expand_shape {v.name} {reassociation(groups)} output_shape "
            f"[{', '.join(map(str, shape))}] : {v.type} into {out.type}"
        )
        return out

    def split(self, v: TensorValue, label: str, new: Sequence[str], sizes: Sequence[int]) -> TensorValue:
        """Split one dim into several (row-major), e.g. C -> (g, c)."""
        i = v.labels.index(label)
        assert math.prod(sizes) == v.shape[i]
        labels = v.labels[:i] + tuple(new) + v.labels[i + 1 :]
        shape = v.shape[:i] + tuple(sizes) + v.shape[i + 1 :]
        groups = [[j] for j in range(i)] + [list(range(i, i + len(new)))]
        groups += [[j + len(new) - 1] for j in range(i + 1, len(v.labels))]
        out = TensorValue(self.fresh("x"), shape, v.elt, labels)
        self.emit(
            f"{out.name} = tensor.expand_shape {v.name} {reassociation(groups)} output_shape "
            f"[{', '.join(map(str, shape))}] : {v.type} into {out.type}"
        )
        return out

    def merge(self, v: TensorValue, labels: Sequence[str], new: str) -> TensorValue:
        """Merge adjacent dims (in the given order, which must be v's) into one."""
        labels = list(labels)
        i = v.labels.index(labels[0])
        assert list(v.labels[i : i + len(labels)]) == labels, (v.labels, labels)
        groups = [[j] for j in range(i)] + [list(range(i, i + len(labels)))]
        groups += [[j] for j in range(i + len(labels), len(v.labels))]
        shape = v.shape[:i] + (math.prod(v.shape[i : i + len(labels)]),) + v.shape[i + len(labels) :]
        out_labels = v.labels[:i] + (new,) + v.labels[i + len(labels) :]
        out = TensorValue(self.fresh("c"), shape, v.elt, out_labels)
        self.emit(
            f"{out.name} = tensor.collapse_shape {v.name} {reassociation(groups)} : {v.type} into {out.type}"
        )
        return out

    def slice(self, v: TensorValue, offsets: dict, sizes: dict, strides: dict | None = None) -> TensorValue:
        strides = strides or {}
        offs = [offsets.get(l, 0) for l in v.labels]
        szs = [sizes.get(l, v.size(l)) for l in v.labels]
        sts = [strides.get(l, 1) for l in v.labels]
        if offs == [0] * len(offs) and szs == list(v.shape):
            return v
        out = TensorValue(self.fresh("s"), tuple(szs), v.elt, v.labels)
        self.emit(
            f"{out.name} = tensor.extract_slice {v.name}[{csv(offs)}] [{csv(szs)}] [{csv(sts)}] "
            f": {v.type} to {out.type}"
        )
        return out

    def insert(self, src: TensorValue, dst: TensorValue, offsets: dict, strides: dict) -> TensorValue:
        assert src.labels == dst.labels
        offs = [offsets.get(l, 0) for l in dst.labels]
        sts = [strides.get(l, 1) for l in dst.labels]
        out = TensorValue(self.fresh("i"), dst.shape, dst.elt, dst.labels)
        self.emit(
            f"{out.name} = tensor.insert_slice {src.name} into {dst.name}[{csv(offs)}] "
            f"[{csv(src.shape)}] [{csv(sts)}] : {src.type} into {dst.type}"
        )
        return out

    def pad(self, v: TensorValue, lo: dict, hi: dict) -> TensorValue:
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
        out = TensorValue(self.fresh("p"), shape, v.elt, v.labels)
        z = self.zero(v.elt)
        idx = ", ".join(f"%pi{j}: index" for j in range(len(shape)))
        self.emit(f"{out.name} = tensor.pad {v.name} low[{csv(plo)}] high[{csv(phi)}] {{")
        self.emit(f"^bb0({idx}):")
        self.emit(f"  tensor.yield {z} : {v.elt}")
        self.emit(f"}} : {v.type} to {out.type}")
        return out

    def gather(self, src: TensorValue, labels: Sequence[str], shape: Sequence[int], exprs: Sequence[str]) -> TensorValue:
        """out[labels] = src[exprs], exprs being affine expressions of the output labels.

        A generic with `tensor.extract` in its body: linalg's verifier rejects indexing maps
        with negative coefficients (the filter flip), and this runs on the small filter only.
        """
        labels, shape = tuple(labels), tuple(shape)
        names, dims = dim_names(labels)
        init = self.empty(shape, src.elt, labels)
        body = [f"%ix{i} = linalg.index {i} : index" for i in range(len(labels))]
        idx_all = ", ".join(f"%ix{i}" for i in range(len(labels)))
        body += [f"%jx{j} = affine.apply {affine_map(dims, substitute(ex, names))}({idx_all})"
                 for j, ex in enumerate(exprs)]
        body.append(f"%val = tensor.extract {src.name}[{', '.join(f'%jx{j}' for j in range(len(exprs)))}] : {src.type}")
        body.append(f"linalg.yield %val : {src.elt}")
        return self.generic("g", [], init, [affine_map(dims, dims)], ["parallel"] * len(labels),
                            [f"%b: {src.elt}"], body)

    def table_gather(self, src: TensorValue, labels: Sequence[str], shape: Sequence[int],
                     exprs: Sequence[str]) -> TensorValue:
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
        names, dims = dim_names(labels)
        tables, maps, args, body = [], [], [], []
        for j, (ex, dep) in enumerate(zip(exprs[:-1], deps[:-1])):
            if not dep:
                body.append(f"%jx{j} = arith.constant {eval_index(ex, {})} : index")
                continue
            sizes = [shape[labels.index(l)] for l in dep]
            values = [eval_index(ex, dict(zip(dep, at))) for at in itertools.product(*map(range, sizes))]
            flat = TensorValue(self.fresh("tbl"), (len(values),), "i32", ("all",))
            self.emit(f"{flat.name} = arith.constant dense<[{csv(values)}]> : {flat.type}")
            table = flat
            if len(dep) > 1:
                table = TensorValue(self.fresh("tbl"), tuple(sizes), "i32", dep)
                self.emit(
                    f"{table.name} = tensor.expand_shape {flat.name} [[{csv(range(len(dep)))}]] output_shape "
                    f"[{csv(sizes)}] : {flat.type} into {table.type}"
                )
            tables.append(table)
            maps.append(affine_map(dims, ", ".join(names[l] for l in dep)))
            args.append(f"%ti{j}: i32")
            body.append(f"%jx{j} = arith.index_cast %ti{j} : i32 to index")
        init = self.empty(shape, src.elt, labels)
        body.append(f"%jlast = linalg.index {len(labels) - 1} : index")
        idx = ", ".join([f"%jx{j}" for j in range(len(exprs) - 1)] + ["%jlast"])
        body.append(f"%val = tensor.extract {src.name}[{idx}] : {src.type}")
        body.append(f"linalg.yield %val : {src.elt}")
        return self.generic("g", tables, init, maps + [affine_map(dims, dims)], ["parallel"] * len(labels),
                            args + [f"%b: {src.elt}"], body)

    def epilogue(self, v: TensorValue, labels: Sequence[str], elt: str, bias: TensorValue | None) -> TensorValue:
        """Transpose v to `labels`, add bias (indexed by its own labels), cast to elt: one generic."""
        labels = tuple(labels)
        if bias is None and elt == v.elt:
            return self.transpose(v, labels)
        names, dims = dim_names(labels)
        inputs = [v] + ([bias] if bias is not None else [])
        maps = [affine_map(dims, ", ".join(names[l] for l in x.labels)) for x in inputs]
        maps.append(affine_map(dims, dims))
        init = self.empty(tuple(v.size(l) for l in labels), elt, labels)
        args = [f"%a: {v.elt}"] + ([f"%bb: {bias.elt}"] if bias is not None else []) + [f"%o: {elt}"]
        body, cur = [], "%a"
        if bias is not None:
            addend = "%bb"
            if bias.elt != v.elt:
                body.append(f"%bx = arith.extf %bb : {bias.elt} to {v.elt}")
                addend = "%bx"
            body.append(f"%sum = arith.addf {cur}, {addend} : {v.elt}")
            cur = "%sum"
        if elt != v.elt:
            body.append(f"%tr = arith.truncf {cur} : {v.elt} to {elt}")
            cur = "%tr"
        body.append(f"linalg.yield {cur} : {elt}")
        return self.generic("y", inputs, init, maps, ["parallel"] * len(labels), args, body)
