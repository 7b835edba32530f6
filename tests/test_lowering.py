"""boo_shim.lowering: hand-written IR compiled by IREE llvm-cpu, checked against torch in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boo_shim.conv import ConvSignature
from boo_shim.errors import UnsupportedError
from boo_shim import lowering
from boo_shim.lowering.ir import eval_index
from boo_shim.lowering.matmul import VECTOR_ELEMS, matmul_tiles

iree_compiler = pytest.importorskip("iree.compiler")
iree_runtime = pytest.importorskip("iree.runtime")

TOL = {torch.float32: 1e-5, torch.bfloat16: 2e-2, torch.float16: 2e-3}
FLAGS = ["--iree-llvmcpu-target-cpu=host"]


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def _metric(out: np.ndarray, ref: np.ndarray) -> float:
    """MIOpen's verification metric: rms(a - b) / max(max|a|, max|b|)."""
    a = out.astype(np.float64)
    b = ref.astype(np.float64)
    denom = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    if denom == 0:
        return 0.0
    return float(np.sqrt(np.mean((a - b) ** 2)) / denom)


def run_lowered(sig: ConvSignature, args) -> np.ndarray:
    text = lowering.emit_mlir(sig)
    vmfb = iree_compiler.compile_str(
        text, target_backends=["llvm-cpu"], extra_args=FLAGS + lowering.recommended_flags("llvm-cpu", sig)
    )
    config = iree_runtime.Config("local-task")
    ctx = iree_runtime.SystemContext(config=config)
    ctx.add_vm_module(iree_runtime.VmModule.copy_buffer(ctx.instance, vmfb))
    fn = ctx.modules.module[sig.func_name]
    out = fn(*[_to_numpy(a.contiguous()) for a in args])
    return np.asarray(out.to_host())


def check(sig: ConvSignature) -> float:
    args = sig.get_sample_conv_args(seed=3)
    out = run_lowered(sig, args)
    assert tuple(out.shape) == tuple(sig.result_shape)
    ref = sig.get_nn_module()(*[a.to(torch.float64) for a in args]).numpy()
    err = _metric(out, ref)
    assert err <= TOL[sig.dtype], f"{sig.func_name}: error {err:.3g} ({lowering.choose_strategy(sig)})"
    return err


# Compact MIOpenDriver commands: -F 1 fwd, 2 bwd, 4 wrw.
CASES = [
    # 2D NCHW
    "conv -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1",
    "conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1",
    "conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -u 2 -v 2",
    "conv -n 2 -c 4 -H 11 -W 10 -k 6 -y 5 -x 5 -p 2 -q 1 -u 2 -v 2",
    "conv -n 2 -c 4 -H 11 -W 10 -k 6 -y 3 -x 3 -p 2 -q 2 -l 2 -j 2",
    "conv -n 2 -c 8 -H 9 -W 9 -k 12 -y 3 -x 3 -p 1 -q 1 -g 4",
    "conv -n 2 -c 8 -H 9 -W 9 -k 8 -y 3 -x 3 -p 1 -q 1 -g 8 -u 2 -v 2",
    "conv -n 2 -c 4 -H 9 -W 9 -k 8 -y 3 -x 3 -p 1 -q 1 -g 4",
    "conv -n 2 -c 4 -H 10 -W 9 -k 6 -y 3 -x 2 -p 0 -q 1 -u 3 -v 2 -l 2 -j 1",
    # 2D NHWC
    "conv -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -u 2 -v 2 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 4 -H 11 -W 10 -k 6 -y 5 -x 5 -p 2 -q 2 -u 2 -v 2 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 4 -H 11 -W 10 -k 6 -y 3 -x 3 -p 2 -q 2 -l 2 -j 2 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 12 -H 9 -W 9 -k 12 -y 1 -x 3 -p 0 -q 1 -g 3 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 8 -H 9 -W 9 -k 8 -y 3 -x 3 -p 1 -q 1 -g 8 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    # mixed layouts
    "conv -n 2 -c 4 -H 7 -W 7 -k 6 -y 3 -x 3 -p 1 -q 1 --in_layout NHWC --fil_layout NCHW --out_layout NCHW",
    # 1D and 3D
    "conv -n 2 -c 4 -H 15 -k 6 -y 3 -p 1 -u 2 --spatial_dim 1",
    "conv -n 2 -c 4 -H 15 -k 6 -y 3 -p 1 -g 2 --spatial_dim 1",
    "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 6 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 --spatial_dim 3",
    "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 6 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -# 2 -u 2 -v 2 --spatial_dim 3 --in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC",
    "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -g 2 --spatial_dim 3",
    "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -g 4 --spatial_dim 3 --in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC",
    # transposed
    "conv -n 2 -c 6 -H 5 -W 5 -k 4 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -m trans",
    "conv -n 2 -c 6 -H 5 -W 4 -k 4 -y 4 -x 3 -p 1 -q 0 -u 2 -v 3 -g 2 -m trans --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
]


def _sigs():
    out = []
    for i, cmd in enumerate(CASES):
        for f in (1, 2, 4):
            dt = "convbfp16" if i % 3 == 1 else "conv"
            c = cmd.replace("conv ", dt + " ", 1) + f" -F {f}"
            out.append(pytest.param(c, id=f"{i}-F{f}-{dt}"))
    return out


@pytest.mark.parametrize("cmd", _sigs())
def test_matches_torch(cmd):
    check(ConvSignature.from_command(cmd))


@pytest.mark.parametrize(
    "cmd",
    [
        "conv -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1 -F 1 -b 1",
        "convbfp16 -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1 -F 1 -b 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
        "conv -n 2 -c 6 -H 5 -W 5 -k 4 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -m trans -F 1 -b 1",
        "convbfp16 -n 2 -c 8 -H 9 -W 9 -k 12 -y 3 -x 3 -p 1 -q 1 -g 4 -F 1",
        "convfp16 -n 2 -c 8 -H 9 -W 9 -k 12 -y 3 -x 3 -p 1 -q 1 -F 2",
    ],
)
def test_bias_and_dtypes(cmd):
    check(ConvSignature.from_command(cmd))


def test_output_padding_transposed():
    sig = ConvSignature(input_shape=[2, 4, 5, 5], kernel_shape=[4, 3, 3, 3], dtype="fp32", stride=2,
                        padding=1, output_padding=1, transposed=True)
    for mode in ("fwd", "bwd", "wrw"):
        check(sig.with_mode(mode))


def test_strategy_names():
    s = ConvSignature.from_command
    assert lowering.choose_strategy(s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC")) == "direct-nhwc"
    assert lowering.choose_strategy(s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -F 2")).startswith("phase-")
    assert lowering.choose_strategy(s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -F 4")) == "wrw-im2col"
    assert lowering.choose_strategy(s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -g 8 -F 4")) == "wrw-depthwise"
    assert lowering.choose_strategy(s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -g 2 -F 1")) == "direct-nhwc-groups"
    for name in (lowering.choose_strategy(ConvSignature.from_command(c.replace("conv ", "conv -F 4 ", 1))) for c in CASES):
        assert name in lowering.STRATEGIES
    assert lowering.recommended_flags("llvm-cpu") == []
    dw = s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -g 8 -F 1")
    assert "--iree-global-opt-use-im2col-for-convs" not in lowering.recommended_flags("llvm-cpu", dw)
    assert "--iree-global-opt-use-im2col-for-convs" in lowering.recommended_flags(
        "llvm-cpu", s("conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -F 1"))


def test_unsupported_raises():
    # Transposed conv whose output padding exceeds the stride (allowed when dilation is larger):
    # the normal-conv view of it does not exist, so emit_mlir must refuse, not guess.
    sig = ConvSignature(input_shape=[1, 2, 5, 5], kernel_shape=[2, 2, 3, 3], dtype="fp32", stride=1,
                        dilation=3, output_padding=2, transposed=True)
    with pytest.raises(UnsupportedError):
        lowering.emit_mlir(sig)
    # Too many groups for the per-group lowering: refused, not slow.
    many = ConvSignature(input_shape=[1, 260, 4, 4], kernel_shape=[260, 2, 3, 3], dtype="fp32",
                         groups=130, padding=1)
    with pytest.raises(UnsupportedError, match="groups"):
        lowering.emit_mlir(many)


@pytest.mark.parametrize(
    "cmd",
    [
        # shapes where matmul_tiles sets the tiles (N a multiple of 32, or of 16 with K <= 64)
        "conv -n 2 -c 24 -H 7 -W 7 -k 64 -y 1 -x 1 -F 1",
        "conv -n 2 -c 64 -H 7 -W 7 -k 24 -y 1 -x 1 -F 2",
        "conv -n 3 -c 64 -H 7 -W 7 -k 32 -y 1 -x 1 -F 4",
        "conv -n 3 -c 48 -H 6 -W 5 -k 32 -y 3 -x 3 -p 1 -q 1 -F 4 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
        # 2D convs written as im2col + a tiled matmul (no named conv left)
        "conv -n 2 -c 8 -H 9 -W 7 -k 32 -y 3 -x 3 -p 1 -q 1 -u 2 -v 1 -F 1",
        "conv -n 2 -c 32 -H 9 -W 7 -k 8 -y 3 -x 2 -p 1 -q 1 -u 2 -v 2 -F 2",
        "convbfp16 -n 2 -c 16 -H 8 -W 8 -k 32 -y 3 -x 3 -p 1 -q 1 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
        "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 32 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -F 1 --spatial_dim 3",
        # narrow odd widths, padded to a multiple of 16 and sliced back
        "convbfp16 -n 2 -c 8 -H 5 -W 5 -k 35 -y 1 -x 1 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
        "conv -n 2 -c 8 -H 6 -W 6 -k 20 -y 3 -x 3 -p 1 -q 1 -F 1 -b 1",
        "conv -n 2 -c 20 -H 6 -W 6 -k 8 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -F 2",
    ],
)
def test_tuned_matmuls(cmd):
    sig = ConvSignature.from_command(cmd)
    text = lowering.emit_mlir(sig)
    assert "compilation_info" in text
    if "-y 3" in cmd and "-F 4" not in cmd:
        assert "linalg.conv_" not in text
    # CPU tile configurations only where the target is the CPU (a GPU compile rejects them)
    assert "iree_cpu" not in lowering.emit_mlir(sig, "cuda")
    check(sig)


def test_matmul_tiles_divide_and_fit():
    import re

    for M, N, K in [(2499, 832, 48), (1372, 144, 48), (6076, 32, 512), (98, 64, 24), (2304, 384, 128), (7, 32, 1000)]:
        text = matmul_tiles(M, N, K)
        dist, vec, red = ([int(v) for v in g.split(",")] for g in re.findall(r"= \[([\d, ]+)\]", text))
        for size, d, v in zip((M, N), dist, vec):
            assert size % d == 0 and d % v == 0, (M, N, K, text)
        assert K % red[2] == 0 and vec[0] * vec[1] * red[2] <= VECTOR_ELEMS
    # IREE's own choice kept where no gain was measured
    assert matmul_tiles(81408, 35, 35) == matmul_tiles(1372, 144, 512) == ""


def test_backward_filter_flip_uses_tables():
    # NHWC filter, several taps: the flip reads through index tables (vectorised), and the
    # result still matches float64.
    sig = ConvSignature.from_command(
        "conv -n 2 -c 6 -H 7 -W 7 -k 5 -y 3 -x 2 -p 1 -q 1 -u 2 -v 1 -g 1 -F 2 "
        "--in_layout NHWC --fil_layout NHWC --out_layout NHWC")
    assert "%tbl" in lowering.emit_mlir(sig)
    check(sig)
    assert eval_index("{g} * 4 + {c}", {"g": 2, "c": 3}) == 11
    assert eval_index("7 - {k0} * 2", {"k0": 3}) == 1
    with pytest.raises(UnsupportedError):
        eval_index("__import__('os')", {})


def test_cache_key_follows_every_lowering_module(tmp_path, monkeypatch):
    """The kernel cache key hashes the IR-writing code: an edit to any module of the lowering
    package, or a module added to it, must give new keys (else old binaries of other IR are
    reused); a source gone missing must fail, not drop out of the hash."""
    import shutil
    from pathlib import Path

    import boo_shim.compile as C
    from boo_shim.targets import parse_target

    package = Path(C.__file__).parent
    for name in ("conv.py", "generate.py"):
        shutil.copy(package / name, tmp_path / name)
    shutil.copytree(package / "lowering", tmp_path / "lowering", ignore=shutil.ignore_patterns("__pycache__"))
    assert C._hash_ir_sources(tmp_path) == C._ir_code_hash()  # the copy is what the real key hashes

    sig = ConvSignature.from_command("conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1")
    monkeypatch.setattr(C, "compiler_version", lambda: "fixed")
    monkeypatch.setattr(C, "_ir_code_hash", lambda: C._hash_ir_sources(tmp_path))
    key = lambda: C.cache_key(sig, parse_target("cpu"), "auto", ())[0]  # noqa: E731
    keys = [key()]
    with open(tmp_path / "lowering" / "matmul.py", "a") as f:
        f.write("\n# an edit\n")
    keys.append(key())
    (tmp_path / "lowering" / "new_direction.py").write_text("# a module added\n")
    keys.append(key())
    assert len(set(keys)) == 3, keys
    shutil.rmtree(tmp_path / "lowering")
    with pytest.raises(FileNotFoundError):
        key()
