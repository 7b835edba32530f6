"""ConvSignature: shapes, naming, validation, and the torch reference modules."""

import subprocess
import sys

import pytest
import torch

from boo_shim.conv import ConvSignature, Mode
from boo_shim.errors import SignatureError
from boo_shim.grammar import parse_command, parse_commands_file


def test_seed_api_works_as_written():
    sig = ConvSignature(input_shape=[2, 3, 16, 32], kernel_shape=[10, 3, 2, 2], shared_layout="NCHW", mode="bwd")
    conv = sig.get_nn_module()
    args = sig.get_sample_conv_args()
    assert [tuple(a.shape) for a in args] == [(2, 10, 15, 31), (10, 3, 2, 2)]
    assert conv(*args).shape == (2, 3, 16, 32)
    assert sig.dtype == torch.bfloat16 and sig.mode is Mode.BWD


def test_output_shapes_match_torch_on_every_shared_line(shared_signature_files):
    # The meta device computes shapes without doing the arithmetic: every real line, in seconds.
    for f in shared_signature_files:
        for no, text in parse_commands_file(str(f)):
            for sig in parse_command(text).signatures:
                args = [torch.empty(s, dtype=sig.dtype, device="meta") for s in sig.arg_shapes]
                out = sig.get_nn_module()(*args)
                assert tuple(out.shape) == sig.result_shape, f"{f.name}:{no} {sig.mode}"


def _autograd_reference(sig: ConvSignature, seed=0):
    """dx and dw from torch autograd on a float64 forward conv in the canonical layout."""
    fwd = sig.with_mode("fwd")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(fwd.input_shape, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(fwd.kernel_shape, generator=g, dtype=torch.float64, requires_grad=True)
    y = fwd.get_nn_module()(x, w)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    y.backward(dy)
    return x.detach(), w.detach(), dy, x.grad, w.grad


CASES = [
    "conv -n 2 -c 4 -H 7 -W 9 -k 6 -y 3 -x 3 -p 1 -q 1 -F 1",
    "conv -n 2 -c 4 -H 7 -W 9 -k 6 -y 3 -x 3 -p 1 -q 0 -u 2 -v 2 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 2 -c 6 -H 9 -W 9 -k 6 -y 3 -x 3 -l 2 -j 2 -g 3 -F 1 --in_layout NHWC --fil_layout NCHW --out_layout NHWC",
    "conv -n 2 -c 8 -H 6 -W 6 -k 8 -y 3 -x 3 -p 1 -q 1 -g 8 -F 1",
    "conv -_ 3 -n 1 -c 4 -! 5 -H 5 -W 6 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -# 2 -u 1 -v 2 -F 1 --in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC",
    "conv -n 2 -c 4 -H 5 -W 5 -k 6 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 -m trans -Y 1 -X 0 -F 1",
    "conv -n 2 -c 4 -H 5 -W 5 -k 6 -y 3 -x 3 -u 2 -v 2 -m trans -g 2 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -_ 1 -n 2 -c 4 -H 11 -k 6 -y 3 -u 2 -p 1 -F 1 --in_layout NHC --fil_layout NHC --out_layout NHC",
]


@pytest.mark.parametrize("line", CASES)
def test_backward_modules_agree_with_autograd(line):
    sig = ConvSignature.from_command(line)
    x, w, dy, dx_ref, dw_ref = _autograd_reference(sig)
    dx = sig.with_mode("bwd").get_nn_module()(dy, w)
    dw = sig.with_mode("wrw").get_nn_module()(dy, x)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dw, dw_ref, rtol=1e-10, atol=1e-10)


def test_layout_is_a_pure_permutation():
    nchw = ConvSignature.from_command("conv -n 2 -c 4 -H 6 -W 5 -k 3 -y 3 -x 2 -p 1 -q 1 -F 1")
    nhwc = ConvSignature.from_command(
        "conv -n 2 -c 4 -H 6 -W 5 -k 3 -y 3 -x 2 -p 1 -q 1 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC")
    x, w = nchw.get_sample_conv_args(seed=3, dtype=torch.float64)
    y = nchw.get_nn_module()(x, w)
    y2 = nhwc.get_nn_module()(x.permute(0, 2, 3, 1), w.permute(0, 2, 3, 1))
    torch.testing.assert_close(y2, y.permute(0, 2, 3, 1))


def test_bias_forward():
    sig = ConvSignature(input_shape=[1, 2, 4, 4], kernel_shape=[3, 2, 1, 1], dtype="fp32", bias=True)
    x, w, b = sig.get_sample_conv_args(seed=1)
    torch.testing.assert_close(sig.get_nn_module()(x, w, b), torch.nn.functional.conv2d(x, w, b))
    # Bias does not change the math of the backward directions, so it does not split them.
    assert sig.with_mode("bwd") == ConvSignature(input_shape=[1, 2, 4, 4], kernel_shape=[3, 2, 1, 1], dtype="fp32", mode="bwd")


def test_func_name_covers_every_math_field():
    base = dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], dtype="fp32", stride=2)
    variants = [
        {}, {"dtype": "bf16"}, {"mode": "wrw"}, {"bias": True}, {"padding": 1}, {"dilation": 2},
        {"groups": 2, "kernel_shape": [4, 2, 3, 3]}, {"transposed": True},
        {"transposed": True, "output_padding": 1}, {"input_layout": "NHWC", "input_shape": [2, 8, 8, 4]},
        {"kernel_layout": "NHWC", "kernel_shape": [4, 3, 3, 4]}, {"output_layout": "NHWC"}, {"stride": 1},
    ]
    sigs = [ConvSignature(**{**base, **v}) for v in variants]
    assert len({s.func_name for s in sigs}) == len(sigs)
    assert len({s.key for s in sigs}) == len(sigs)
    assert "trans" in sigs[7].func_name and "1x1op" in sigs[8].func_name and "_b_" in sigs[3].func_name


def test_key_is_stable_across_processes():
    sig = ConvSignature.from_command("convbfp16 -n 16 -c 96 -H 48 -W 32 -k 288 -y 1 -x 1 -F 1 --in_layout NHWC")
    code = ("from boo_shim.conv import ConvSignature as S; "
            "print(S.from_command('convbfp16 -n 16 -c 96 -H 48 -W 32 -k 288 -y 1 -x 1 -F 1 --in_layout NHWC').key)")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == sig.key
    assert ConvSignature.from_dict(sig.as_dict()) == sig


def test_flops_and_bytes():
    sig = ConvSignature(input_shape=[2, 4, 8, 8], kernel_shape=[6, 4, 3, 3], dtype="fp32", padding=1)
    assert sig.flops == 2 * 2 * 6 * 8 * 8 * 4 * 9
    assert sig.bytes_moved == 4 * (2 * 4 * 64 + 6 * 4 * 9 + 2 * 6 * 64)
    t = ConvSignature(input_shape=[2, 4, 8, 8], kernel_shape=[4, 6, 3, 3], dtype="fp32", transposed=True)
    assert t.flops == 2 * 2 * 4 * 64 * 6 * 9


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(input_shape=[2, 6, 8, 8], kernel_shape=[4, 3, 3, 3], groups=4), "groups"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 3, 3, 3]), "kernel_shape"),
        (dict(input_shape=[2, 4, -8, 8], kernel_shape=[4, 4, 3, 3]), "input_shape"),
        (dict(input_shape=[2, 4, 2, 2], kernel_shape=[4, 4, 3, 3]), "input_shape"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], shared_layout="NCXY"), "input_layout"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], dtype="int4"), "dtype"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], stride=0), "stride"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], output_padding=1), "output_padding"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], mode="sideways"), "mode"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3], ), "kernel_shape"),
        (dict(input_shape=[2, 4, 8, 8], kernel_shape=[4, 4, 3, 3], padding=[1, 1, 1]), "padding"),
    ],
)
def test_invalid_signatures_name_the_field(kwargs, field):
    with pytest.raises(SignatureError) as info:
        ConvSignature(**kwargs)
    assert info.value.field == field
