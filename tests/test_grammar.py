"""The MIOpenDriver grammar: real lines parse, print -> parse round-trips, errors name the flag."""

import pytest
import torch

from boo_shim.conv import ConvSignature, Mode
from boo_shim.errors import SignatureError, UnsupportedError
from boo_shim.grammar import parse_command, parse_commands_file


def all_shared_lines(files):
    for f in files:
        for no, text in parse_commands_file(str(f)):
            yield f"{f.name}:{no}", text


def test_every_shared_line_parses_and_round_trips(shared_signature_files):
    count = 0
    for where, text in all_shared_lines(shared_signature_files):
        cmd = parse_command(text)
        assert cmd.signatures, where
        for sig in cmd.signatures:
            again = parse_command(sig.to_command()).signatures
            assert again == (sig,), f"{where}: {text}"
            count += 1
    assert count > 1800


def test_func_names_are_unique_across_shared_lines(shared_signature_files):
    by_name = {}
    for _, text in all_shared_lines(shared_signature_files):
        for sig in parse_command(text).signatures:
            assert by_name.setdefault(sig.func_name, sig) == sig


def test_short_and_long_flags_mean_the_same():
    short = parse_command("convfp16 -n 8 -c 64 -H 56 -W 56 -k 128 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -l 1 -j 1 -g 2 -F 1")
    long = parse_command(
        "./bin/MIOpenDriver convfp16 --batchsize 8 --in_channels 64 --in_h 56 --in_w 56 --out_channels 128 "
        "--fil_h 3 --fil_w 3 --pad_h 1 --pad_w 1 --conv_stride_h 2 --conv_stride_w 2 --dilation_h 1 "
        "--dilation_w 1 --group_count 2 --forw 1 --in_d 1 --fil_d 1 --conv_stride_d 0 --dilation_d 0 --pad_d 0"
    )
    assert short.signatures == long.signatures
    sig = short.signatures[0]
    assert sig.dtype == torch.float16 and sig.groups == 2 and sig.stride == (2, 2)
    assert sig.kernel_shape == (128, 32, 3, 3)


def test_miopen_log_prefix_and_run_options():
    line = ("MIOpen(HIP): Command [LogCmdConvolution] ./bin/MIOpenDriver conv -n 2 -c 8 -H 5 -W 5 -k 4 "
            "-y 3 -x 3 -F 0 -t 1 --iter 7 -V 0 -w 1 -s 0 -S -1")
    cmd = parse_command(line)
    assert [s.mode for s in cmd.signatures] == [Mode.FWD, Mode.BWD, Mode.WRW]
    assert cmd.int_option("time") == 1 and cmd.int_option("iter") == 7 and cmd.int_option("verify") == 0


@pytest.mark.parametrize("mask,modes", [(1, "fwd"), (2, "bwd"), (4, "wrw"), (3, "fwd bwd"), (6, "bwd wrw"), (0, "fwd bwd wrw")])
def test_forw_bit_mask(mask, modes):
    sigs = parse_command(f"conv -n 1 -c 4 -H 8 -W 8 -k 4 -F {mask}").signatures
    assert " ".join(s.mode.value for s in sigs) == modes


def test_miopen_defaults():
    (sig,) = parse_command("conv -F 1").signatures
    assert sig.input_shape == (100, 3, 32, 32) and sig.kernel_shape == (32, 3, 3, 3)
    assert sig.dtype == torch.float32 and sig.input_layout == "NCHW"


def test_3d_line_and_layout_inference():
    (sig,) = parse_command(
        "convbfp16 -n 2 -c 16 --in_d 4 -H 8 -W 8 -k 8 --fil_d 3 -y 3 -x 3 --pad_d 1 -p 1 -q 1 -F 4 "
        "--in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC"
    ).signatures
    assert sig.num_spatial_dims == 3 and sig.input_shape == (2, 4, 8, 8, 16)
    assert sig.padding == (1, 1, 1) and sig.mode is Mode.WRW


def test_transposed_filter_follows_miopen():
    (sig,) = parse_command("conv -n 2 -c 8 -H 5 -W 5 -k 6 -y 3 -x 3 -u 2 -v 2 -m trans -Y 1 -X 1 -g 2 -F 1").signatures
    assert sig.transposed and sig.kernel_shape == (8, 3, 3, 3)
    assert sig.output_shape == (2, 6, 12, 12)  # (5-1)*2 + 3 + 1


def test_pad_modes():
    (same,) = parse_command("conv -n 1 -c 4 -H 9 -W 9 -k 4 -y 3 -x 3 -z same -F 1").signatures
    assert same.padding == (1, 1) and same.output_shape[2:] == (9, 9)
    (valid,) = parse_command("conv -n 1 -c 4 -H 9 -W 9 -k 4 -y 3 -x 3 -p 2 -q 2 --pad_mode valid -F 1").signatures
    assert valid.padding == (0, 0)
    with pytest.raises(UnsupportedError, match="asymmetric"):
        parse_command("conv -n 1 -c 4 -H 8 -W 8 -k 4 -y 2 -x 2 -z same -F 1")


@pytest.mark.parametrize(
    "line,field",
    [
        ("conv -n 2 -c 8 --bogus 3", "--bogus"),
        ("conv -n 2 -c 7 -g 2 -F 1", "--group_count"),
        ("conv -n two -F 1", "--batchsize"),
        ("conv -n 2 -c 4 -H 2 -W 2 -y 5 -x 5 -F 1", "input_shape"),
        ("conv -n 0 -F 1", "input_shape"),
        ("conv -F 1 --in_layout NCXW", "--in_layout"),
        ("convfp64 -n 1", "command"),
        ("conv -F 9", "--forw"),
        ("conv -m sideways", "--mode"),
        ("conv -n", "--batchsize"),
    ],
)
def test_errors_name_the_field(line, field):
    with pytest.raises(SignatureError) as info:
        parse_command(line)
    assert info.value.field == field and field in str(info.value)


def test_int8_is_refused_clearly():
    with pytest.raises(UnsupportedError, match="int8"):
        parse_command("convint8 -n 1 -c 4 -H 8 -W 8 -k 4 -F 1")


def test_commands_file_comments_and_extra_args(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("# header\n\nconv -n 1 -c 4 -H 8 -W 8 -k 4 -F 1  # trailing\n"
                 "convbfp16 -_ 3 -n 1 -c 4 -! 4 -H 4 -W 4 -k 4 -# 2 -F 1\n")
    lines = parse_commands_file(str(f), ["-t", "1"])
    assert [no for no, _ in lines] == [3, 4]
    assert lines[0][1].endswith("-F 1 -t 1")
    assert "-# 2" in lines[1][1]
    assert parse_command(lines[1][1]).signatures[0].stride == (2, 1, 1)


def test_no_import_circle_between_signature_and_grammar():
    """The grammar builds on the signature, never the reverse: conv.py reads and prints command
    lines through command_line.py, which imports neither (a function-level import counts too)."""
    import ast
    from pathlib import Path

    import boo_shim

    def imported(name):
        tree = ast.parse((Path(boo_shim.__file__).parent / f"{name}.py").read_text())
        return {n.module.split(".")[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}

    assert "grammar" not in imported("conv")
    assert not {"conv", "grammar"} & imported("command_line")
    assert "conv" in imported("grammar")
