"""Hand-written MLIR for convolutions that IREE's llvm-cpu backend compiles into fast code.

`generate_mlir` (iree-turbine's exporter) is general but, for channels-last layouts and for the
backward directions, hands IREE IR it compiles into slow loops. This package writes the IR itself,
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
  `matmul_tiles` can tile is written as IREE's own im2col rewrite would write it (one im2col
  copy, one matmul), so that the matmul gets those tiles (`conv_core.im2col_matmul`).
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
  to f32 in a dispatch of their own (`IRBuilder.widened`) before the matmuls and the convs (the wrw
  im2col copy writes f32 itself): IREE's bf16 matmul code ran 2-3x slower than its f32 here,
  and IREE's im2col rewrite (see `recommended_flags`) fails on mixed-type convs. The depthwise
  ops take the narrow operands with an f32 accumulator. The result is truncated once at the
  end, after the bias is added in f32 (one epilogue ``linalg.generic`` that also does any
  layout change).
- matmuls carry tile configurations (`matmul.matmul_tiles`) where they were measured faster than
  IREE's default, and narrow odd widths are padded to a multiple of 16 (`matmul.tiled_matmul`);
  docs/cpu_performance.md has the figures.

Compile the IR with `recommended_flags("llvm-cpu", sig)`: the IR and the flags were tuned
together (the IR stays correct without them, only slower).

Transposes feeding a conv are fenced with ``util.optimization_barrier``: without it IREE folds a
filter transpose into the named conv, turning it into a ``linalg.generic`` that compiles into
code ~30x slower.

`emit_mlir` raises `UnsupportedError` for anything it cannot express exactly (a transposed
convolution with output padding >= stride, which has no normal-convolution view); callers
then fall back to `generate_mlir`.

Modules: `ir` (the builder, `IRBuilder`, and its values, `TensorValue`), `plan` (the signature
as a normal convolution, dim labels, the way back to the signature's layout), `conv_core` (one
channels-last convolution), `matmul` (tiled matmuls and their tile rules), and one module per
direction of the normal convolution: `forward`, `backward_data`, `backward_weights`.
"""
from __future__ import annotations

from ..conv import ConvSignature, Mode
from ..errors import UnsupportedError
from .backward_data import emit_backward_data
from .backward_weights import emit_backward_weights
from .forward import emit_forward
from .ir import IRBuilder, LoweringOptions, TensorValue, tensor_type
from .plan import ELEMENT_TYPES, MAX_GROUP_LOOP, Plan, activation_labels, argument, checked_plan, kernel_labels

__all__ = [
    "emit_mlir",
    "choose_strategy",
    "recommended_flags",
    "lowering_options",
    "IRBuilder",
    "LoweringOptions",
    "TensorValue",
    "Plan",
    "STRATEGIES",
    "MAX_GROUP_LOOP",
]

STRATEGIES = tuple(
    f"{k}-nhwc{x}" for k in ("direct", "phase") for x in ("", "-groups", "-depthwise")
) + ("wrw-im2col", "wrw-im2col-groups", "wrw-depthwise")

_CPU_TARGETS = ("llvm-cpu", "cpu", "local-task", "local-sync")


def choose_strategy(sig: ConvSignature) -> str:
    """The name of the IR strategy `emit_mlir` uses for `sig` (raises UnsupportedError).

    `<kind>-nhwc[-groups|-depthwise]` or `wrw-...`: kind is `direct` (forward conv), `phase`
    (backward data by stride phases; a single phase when the stride is 1), `wrw-im2col`
    (im2col + batch matmul) or `wrw-depthwise` (one reduction generic); `-depthwise` marks the
    depthwise named ops, `-groups` one ungrouped conv per group. Every conv runs channels-last
    (see `conv_core`), hence `nhwc` whatever the signature's layouts.
    """
    plan = checked_plan(sig)
    if plan.op == "wrw":
        if plan.depthwise:
            return "wrw-depthwise"
        return "wrw-im2col" + ("-groups" if plan.G > 1 else "")
    kind = "direct" if plan.op == "fwd" else "phase"
    suffix = "-depthwise" if plan.depthwise else ("-groups" if plan.G > 1 else "")
    return f"{kind}-nhwc{suffix}"


def recommended_flags(target_name: str = "llvm-cpu", sig: ConvSignature | None = None) -> list[str]:
    """Extra iree-compile flags found helpful for the IR `emit_mlir(sig)` gives on `target_name`.

    Pass the signature: the flags depend on it, and the IR is written for them (use the pair
    together). Without a signature the answer is the flags safe for every signature (none).

    llvm-cpu: ukernels (`--iree-llvmcpu-enable-ukernels=all`: the matmuls, the im2col'd convs
    and the wrw batch matmuls ran 1.3-2.5x faster with them), and IREE's im2col rewrite of
    channels-last convs (`--iree-global-opt-use-im2col-for-convs`) for every non-depthwise
    signature; `emit_mlir` then feeds the convs f32 operands (the rewrite fails to compile
    mixed bf16/f32 convs, and depthwise ones in some shapes). Measured by
    bench/lowering_probe.py: it rescues the shapes IREE's direct conv vectorises badly (odd
    widths, strides, dilations, non-square filters: 3-170x faster there) at a small cost on
    some plain 3x3 convs.
    """
    if sig is None or target_name not in _CPU_TARGETS:
        return []
    try:
        plan = checked_plan(sig)
    except UnsupportedError:
        return []  # not lowered here: the export path, which gets no extra flags
    flags = ["--iree-llvmcpu-enable-ukernels=all"]
    return flags + ([] if plan.depthwise else ["--iree-global-opt-use-im2col-for-convs"])


def lowering_options(sig: ConvSignature, target_name: str = "llvm-cpu") -> LoweringOptions:
    """The tuning `emit_mlir(sig, target_name)` writes the IR with (it goes with the flags of
    `recommended_flags`: widening is what lets IREE's im2col rewrite compile)."""
    return _options(checked_plan(sig), target_name)


def _options(plan: Plan, target_name: str) -> LoweringOptions:
    cpu = target_name in _CPU_TARGETS
    widen = not plan.depthwise
    # Measured per family: grouped 3D convs ran 0.8x the time this way, grouped 2D ones up to
    # 1.6x (a 1x3 grouped backward-data conv), so those keep IREE's own lowering.
    return LoweringOptions(cpu=cpu, widen=widen, im2col=cpu and widen and (plan.G == 1 or plan.nsp == 3))


# The second public function of a module written with `output_entry=True`: the same computation
# with the result's storage passed in by the caller, so a result can land straight in memory the
# caller already has (a shared-memory segment, the program's own tensor) instead of a fresh IREE
# buffer that is then copied.
OUTPUT_ENTRY_SUFFIX = "_into"


def emit_mlir(sig: ConvSignature, target_name: str = "llvm-cpu", output_entry: bool = False) -> str:
    """MLIR text of a module with `func.func @<sig.func_name>` computing `sig` on builtin tensors.

    Arguments and result follow `sig.arg_shapes` / `sig.result_shape` (layouts, dtype), exactly
    as `sig.get_nn_module()`. Raises `UnsupportedError` when no exact lowering exists.
    `target_name` matters only for the CPU-specific parts (tile configurations, the im2col +
    tiled matmul path, padded widths); other targets get the same IR without them.
    `output_entry` adds `@<sig.func_name>_into`, whose last argument is the result's storage
    (IREE's `iree.abi.output`): the runtime passes memory of its own there.
    """
    plan = checked_plan(sig)
    elt = ELEMENT_TYPES[sig.dtype]
    b = IRBuilder(_options(plan, target_name))
    shapes = sig.arg_shapes
    if sig.mode is Mode.FWD:
        a0 = argument(0, shapes[0], elt, activation_labels(sig.input_layout, "C"))
        a1 = argument(1, shapes[1], elt, kernel_labels(sig.kernel_layout))
        bias = argument(2, shapes[2], elt, ["C"]) if sig.bias else None
        if sig.transposed:
            res = emit_backward_data(b, plan, a0, a1, elt, bias, sig.output_layout)
        else:
            res = emit_forward(b, plan, a0, a1, elt, bias, sig.output_layout)
    elif sig.mode is Mode.BWD:
        a0 = argument(0, shapes[0], elt, activation_labels(sig.output_layout, "C"))
        a1 = argument(1, shapes[1], elt, kernel_labels(sig.kernel_layout))
        if sig.transposed:
            res = emit_forward(b, plan, a0, a1, elt, None, sig.input_layout)
        else:
            res = emit_backward_data(b, plan, a0, a1, elt, None, sig.input_layout)
    else:
        a0 = argument(0, shapes[0], elt, activation_labels(sig.output_layout, "C"))
        a1 = argument(1, shapes[1], elt, activation_labels(sig.input_layout, "C"))
        if sig.transposed:
            # dW of y = conv^T(x, W): the normal wrw with dy := x (Y role) and x := dy (X role).
            res = emit_backward_weights(b, plan, a1, a0, elt, sig.kernel_layout)
        else:
            res = emit_backward_weights(b, plan, a0, a1, elt, sig.kernel_layout)
    if res.shape != tuple(sig.result_shape):
        raise UnsupportedError(f"internal: result shape {res.shape} != {sig.result_shape}")
    args = ", ".join(f"%arg{i}: {tensor_type(s, elt)}" for i, s in enumerate(shapes))
    head = f"  func.func @{sig.func_name}({args}) -> {res.type} {{"
    body = "\n".join(b.lines)
    main = f"{head}\n{body}\n    return {res.name} : {res.type}\n  }}\n"
    if output_entry:
        arg_types = ", ".join(tensor_type(s, elt) for s in shapes)
        arg_names = ", ".join(f"%arg{i}" for i in range(len(shapes)))
        main += (f"  func.func @{sig.func_name}{OUTPUT_ENTRY_SUFFIX}({args}, "
                 f"%storage: {res.type} {{iree.abi.output = 0 : index}}) -> {res.type} {{\n"
                 f"    %result = call @{sig.func_name}({arg_names}) : ({arg_types}) -> {res.type}\n"
                 f"    return %result : {res.type}\n  }}\n")
    return f"module {{\n{main}}}\n"
