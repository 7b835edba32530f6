"""generate_mlir and boo-generate on real lines, with failures and filters."""

import subprocess
import sys

import pytest

from boo_shim.conv import ConvSignature
from boo_shim.errors import BooError
from boo_shim.generate import generate_mlir, pipeline_string

NHWC = "--in_layout NHWC --fil_layout NHWC --out_layout NHWC"
LINES = [
    f"convbfp16 -n 2 -c 16 -H 6 -W 8 -k 32 -y 1 -x 1 -p 0 -q 0 -u 1 -v 1 -l 1 -j 1 -m conv -g 1 -F 1 -t 1 --iter 100 {NHWC}",
    f"convbfp16 -n 2 -c 16 -H 6 -W 8 -k 32 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -g 2 -F 4 {NHWC}",
    "convbfp16 -_ 3 -n 1 -c 8 --in_d 3 -H 4 -W 4 -k 8 --fil_d 1 -y 3 -x 3 -p 1 -q 1 -F 2 "
    "--in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC",
]


def test_pipeline_string():
    assert pipeline_string(["torch-to-iree"]) == "builtin.module(torch-to-iree)"
    assert pipeline_string("a,b") == "builtin.module(a,b)"
    assert pipeline_string("builtin.module(x)") == "builtin.module(x)"
    assert pipeline_string(None) is None


def test_generate_mlir_names_the_function_and_lowers(tmp_path):
    sig = ConvSignature(input_shape=[2, 3, 16, 32], kernel_shape=[10, 3, 2, 2], shared_layout="NCHW", mode="bwd")
    torch_ir = str(generate_mlir(sig))
    assert f"func.func @{sig.func_name}(" in torch_ir and "torch.aten.convolution_backward" in torch_ir
    out = tmp_path / "k.mlir"
    lowered = str(generate_mlir(sig, output_path=out, import_pipeline=["torch-to-iree"]))
    assert f"util.func public @{sig.func_name}(" in lowered and "torch." not in lowered.replace("torch.assume", "")
    assert out.read_text() == lowered


def test_bad_pipeline_is_a_clear_error():
    sig = ConvSignature.from_command(LINES[0])
    with pytest.raises(BooError, match="pipeline"):
        generate_mlir(sig, import_pipeline="builtin.module(no-such-pass)")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "boo_shim.generate", *args], capture_output=True, text=True)


def test_cli_single_command_prints_ir():
    r = run_cli("-c", LINES[0], "--pipeline", "torch-to-iree")
    assert r.returncode == 0, r.stderr
    assert "util.func public @conv_2d_bf16_fwd_2x6x8x16_nhwc" in r.stdout


def test_cli_batch_with_failure_filters_and_rerun(tmp_path):
    cmds = tmp_path / "cmds.txt"
    cmds.write_text("\n".join(LINES + ["# comment", "conv -n 2 -c 7 -g 2 -F 1"]) + "\n")
    out = tmp_path / "out"
    r = run_cli("-f", str(cmds), "-o", str(out), "-j", "2")
    assert r.returncode == 1  # the invalid line
    assert "3 exported, 0 already present, 1 failed" in r.stdout
    mlirs = sorted(p.name for p in out.glob("*.mlir"))
    assert len(mlirs) == 3 and any(n.startswith("conv_3d_bf16_bwd") for n in mlirs)
    (err,) = out.glob("*.error.txt")
    assert "groups do not divide" in err.read_text()

    r = run_cli("-f", str(cmds), "-o", str(out))
    assert "0 exported, 3 already present, 1 failed" in r.stdout

    filt = tmp_path / "filtered"
    r = run_cli("-f", str(cmds), "-o", str(filt), "-N", "2", "-F", "wrw")
    assert "1 exported" in r.stdout
    assert [p.name.split("_")[3] for p in filt.glob("*.mlir")] == ["wrw"]
