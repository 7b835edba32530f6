"""MIOpenDriver's convolution command line as text: flags, defaults, and field values.

The part of the grammar that needs no `ConvSignature`: `parse_fields` reads a line into the
keyword arguments of one signature per direction named by `-F`, `format_command` prints a
signature's canonical line. `conv` builds on it (`ConvSignature.from_command`, `to_command`),
and `grammar` on both; this module imports neither, so neither imports the other.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from . import dtypes
from .errors import SignatureError, UnsupportedError

SPATIAL_LETTERS = {1: "H", 2: "HW", 3: "DHW"}
DEFAULT_LAYOUTS = {n: "NC" + s for n, s in SPATIAL_LETTERS.items()}
# A direction's bit in MIOpenDriver's `-F` mask, by `Mode` value.
DIRECTION_BITS = {"fwd": 1, "bwd": 2, "wrw": 4}

COMMAND_DTYPES = {d.command: d.torch for d in dtypes.ALL}
DTYPE_COMMANDS = {v: k for k, v in COMMAND_DTYPES.items()}


@dataclass(frozen=True)
class Flag:
    long: str
    short: str | None
    default: str
    math: bool  # False: a run option (timing, verification, I/O) kept but not part of the signature
    help: str = ""


# Order is the canonical print order for the math flags.
FLAGS: tuple[Flag, ...] = (
    Flag("spatial_dim", "_", "2", True, "convolution spatial dimension"),
    Flag("batchsize", "n", "100", True, "mini-batch size"),
    Flag("in_channels", "c", "3", True, "input channels"),
    Flag("in_d", "!", "32", True, "input depth"),
    Flag("in_h", "H", "32", True, "input height"),
    Flag("in_w", "W", "32", True, "input width"),
    Flag("out_channels", "k", "32", True, "output channels"),
    Flag("fil_d", "@", "3", True, "filter depth"),
    Flag("fil_h", "y", "3", True, "filter height"),
    Flag("fil_w", "x", "3", True, "filter width"),
    Flag("pad_d", "$", "0", True, "zero padding, depth"),
    Flag("pad_h", "p", "0", True, "zero padding, height"),
    Flag("pad_w", "q", "0", True, "zero padding, width"),
    Flag("conv_stride_d", "#", "1", True, "stride, depth"),
    Flag("conv_stride_h", "u", "1", True, "stride, height"),
    Flag("conv_stride_w", "v", "1", True, "stride, width"),
    Flag("dilation_d", "^", "1", True, "dilation, depth"),
    Flag("dilation_h", "l", "1", True, "dilation, height"),
    Flag("dilation_w", "j", "1", True, "dilation, width"),
    Flag("trans_output_pad_d", "%", "0", True, "transposed output padding, depth"),
    Flag("trans_output_pad_h", "Y", "0", True, "transposed output padding, height"),
    Flag("trans_output_pad_w", "X", "0", True, "transposed output padding, width"),
    Flag("mode", "m", "conv", True, "conv or trans"),
    Flag("group_count", "g", "1", True, "groups"),
    Flag("bias", "b", "0", True, "use bias (forward)"),
    Flag("pad_mode", "z", "default", True, "same, valid or default"),
    Flag("pad_val", "r", "0", True, "padding value (only 0)"),
    Flag("forw", "F", "0", True, "direction mask: 1 fwd, 2 bwd data, 4 bwd weights, 0 all"),
    Flag("in_layout", "I", "", True, "input layout"),
    Flag("fil_layout", "f", "", True, "filter layout"),
    Flag("out_layout", "O", "", True, "output layout"),
    Flag("tensor_vect", "Z", "0", True, "vectorised tensors (only 0)"),
    Flag("vector_length", "L", "1", True, "vector length (only 1)"),
    # Run options: kept with the command, never part of the signature.
    Flag("time", "t", "0", False, "time each layer"),
    Flag("iter", "i", "10", False, "iterations"),
    Flag("verify", "V", "1", False, "verify each layer"),
    Flag("wall", "w", "0", False, "wall-clock timing"),
    Flag("search", "s", "0", False, "search kernel config"),
    Flag("solution", "S", "-1", False, "solution id"),
    Flag("printconv", "P", "1", False, "print convolution dimensions"),
    Flag("dump_output", "o", "0", False, "dump output buffers"),
    Flag("in_data", "d", "", False, "input data file"),
    Flag("weights", "e", "", False, "weights file"),
    Flag("dout_data", "D", "", False, "dy data file"),
    Flag("in_bias", "a", "", False, "bias data file"),
    Flag("verification_cache", "C", "", False, "verification cache dir"),
    Flag("gpubuffer_check", "~", "0", False, "gpu buffer sanitiser"),
    Flag("in_cast_type", "U", "-1", False, "input cast type"),
    Flag("wei_cast_type", "R", "-1", False, "weight cast type"),
    Flag("out_cast_type", "T", "-1", False, "output cast type"),
    Flag("trace", "E", "0", False, "trace"),
)
FLAGS_BY_LONG = {f.long: f for f in FLAGS}
_BY_SHORT = {f.short: f for f in FLAGS if f.short}
_INT_FLAGS = {f.long for f in FLAGS if f.math} - {"mode", "pad_mode", "in_layout", "fil_layout", "out_layout"}
# The depth flags only matter for 3D; MIOpen logs them on 2D lines too.
_DEPTH_FLAGS = {"in_d", "fil_d", "pad_d", "conv_stride_d", "dilation_d", "trans_output_pad_d"}


@dataclass(frozen=True)
class CommandFields:
    """A read MIOpenDriver line: `ConvSignature` keyword arguments per direction, run options."""

    command: str  # conv | convfp16 | convbfp16
    fields: tuple[dict, ...]
    run_options: dict[str, str] = field(default_factory=dict)


def _strip_prefix(tokens: list[str]) -> list[str]:
    """Drop a log prefix and a leading MIOpenDriver binary, whatever their form."""
    for i, tok in enumerate(tokens):
        if tok.endswith("MIOpenDriver"):
            return tokens[i + 1:]
    for i, tok in enumerate(tokens):
        if tok in COMMAND_DTYPES or tok == "convint8":
            return tokens[i:]
    return tokens


def _tokenize(line: str | list[str]) -> list[str]:
    if isinstance(line, str):
        try:
            tokens = shlex.split(line, comments=False)
        except ValueError as e:
            raise SignatureError("command", f"cannot split the line: {e}") from None
    else:
        tokens = list(line)
    return _strip_prefix(tokens)


def _read_flags(tokens: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--"):
            name, eq, inline = tok[2:].partition("=")
            spec = FLAGS_BY_LONG.get(name)
        elif tok[1:] in FLAGS_BY_LONG:  # single-dash long flag, as some tools print them
            spec, eq, inline = FLAGS_BY_LONG[tok[1:]], "", ""
        elif tok.startswith("-") and len(tok) >= 2:
            spec, eq, inline = _BY_SHORT.get(tok[1]), "", ""
            if len(tok) > 2:  # -n16 style
                eq, inline = "=", tok[2:]
        else:
            raise SignatureError("command", f"unexpected token {tok!r} (flags start with '-')")
        if spec is None:
            raise SignatureError(tok, "unknown MIOpenDriver conv flag")
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(tokens):
                raise SignatureError(f"--{spec.long}", "missing value")
            value = tokens[i + 1]
            i += 2
        values[spec.long] = value
    return values


def _int(values: dict[str, str], name: str) -> int:
    raw = values.get(name, FLAGS_BY_LONG[name].default)
    try:
        return int(raw)
    except ValueError:
        raise SignatureError(f"--{name}", f"expected an integer, got {raw!r}") from None


def parse_fields(line: str | list[str]) -> CommandFields:
    """Read one MIOpenDriver conv line. Raises `SignatureError` / `UnsupportedError`."""
    tokens = _tokenize(line)
    if not tokens:
        raise SignatureError("command", "empty command line")
    command, rest = tokens[0], tokens[1:]
    if command == "convint8":
        raise UnsupportedError("convint8: int8 convolutions are not supported by boo")
    if command not in COMMAND_DTYPES:
        raise SignatureError("command", f"unknown command {command!r}; expected conv, convfp16 or convbfp16")
    values = _read_flags(rest)
    run_options = {k: v for k, v in values.items() if not FLAGS_BY_LONG[k].math}
    math = {k: v for k, v in values.items() if FLAGS_BY_LONG[k].math}

    layouts = {k: math.get(k) or None for k in ("in_layout", "fil_layout", "out_layout")}
    if "spatial_dim" in math:
        n = _int(math, "spatial_dim")
    else:
        ranks = {len(v) - 2 for v in layouts.values() if v}
        if len(ranks) > 1:
            raise SignatureError("--in_layout", f"layouts of different ranks: {layouts}")
        n = ranks.pop() if ranks else 2
    if n not in (1, 2, 3):
        raise SignatureError("--spatial_dim", f"expected 2 or 3 (1 as a boo extension), got {n}")
    for name, v in layouts.items():
        if v and (len(v) != n + 2 or set(v.upper()) != set(DEFAULT_LAYOUTS[n])):
            raise SignatureError(f"--{name}", f"layout {v!r} is not a permutation of {DEFAULT_LAYOUTS[n]}")
    layouts = {k: (v or DEFAULT_LAYOUTS[n]).upper() for k, v in layouts.items()}

    letters = DEFAULT_LAYOUTS[n][2:]
    suffix = {"D": "d", "H": "h", "W": "w"}
    spatial = lambda prefix: [_int(math, f"{prefix}_{suffix[ch]}") for ch in letters]  # noqa: E731

    for name in _INT_FLAGS:
        if name in math and (n == 3 or name not in _DEPTH_FLAGS):
            _int(math, name)  # reject junk early with the flag's name
    if _int(math, "pad_val") != 0:
        raise UnsupportedError("--pad_val: only zero padding is supported")
    if _int(math, "tensor_vect") != 0 or _int(math, "vector_length") != 1:
        raise UnsupportedError("--tensor_vect/--vector_length: vectorised tensors are not supported")

    conv_mode = math.get("mode", "conv")
    if conv_mode not in ("conv", "trans"):
        raise SignatureError("--mode", f"expected conv or trans, got {conv_mode!r}")
    transposed = conv_mode == "trans"
    batch, c, k, g = (_int(math, x) for x in ("batchsize", "in_channels", "out_channels", "group_count"))
    if g <= 0:
        raise SignatureError("--group_count", f"must be positive, got {g}")
    in_sizes, fil_sizes = spatial("in"), spatial("fil")
    stride, dilation = spatial("conv_stride"), spatial("dilation")
    out_pad = spatial("trans_output_pad")
    padding = spatial("pad")
    pad_mode = math.get("pad_mode", "default")
    if pad_mode == "valid":
        padding = [0] * n
    elif pad_mode == "same":
        padding = _same_padding(in_sizes, fil_sizes, stride, dilation)
    elif pad_mode != "default":
        raise SignatureError("--pad_mode", f"expected same, valid or default, got {pad_mode!r}")

    in_dims = dict(zip("NC" + letters, [batch, c, *in_sizes]))
    # MIOpenDriver: a transposed conv's filter is (in_channels, out_channels / groups, ...).
    if transposed:
        if k % g:
            raise SignatureError("--group_count", f"{g} groups do not divide the {k} output channels")
        fil_dims = dict(zip("NC" + letters, [c, k // g, *fil_sizes]))
    else:
        if c % g:
            raise SignatureError("--group_count", f"{g} groups do not divide the {c} input channels")
        fil_dims = dict(zip("NC" + letters, [k, c // g, *fil_sizes]))

    forw = _int(math, "forw")
    if not 0 <= forw <= 7:
        raise SignatureError("--forw", f"expected a mask of 1 (fwd), 2 (bwd), 4 (wrw) or 0 (all), got {forw}")
    modes = [m for m, bit in DIRECTION_BITS.items() if forw == 0 or forw & bit]
    fields = tuple(
        dict(
            input_shape=[in_dims[ch] for ch in layouts["in_layout"]],
            kernel_shape=[fil_dims[ch] for ch in layouts["fil_layout"]],
            dtype=COMMAND_DTYPES[command],
            input_layout=layouts["in_layout"],
            kernel_layout=layouts["fil_layout"],
            output_layout=layouts["out_layout"],
            bias=bool(_int(math, "bias")),
            stride=stride,
            padding=padding,
            dilation=dilation,
            transposed=transposed,
            output_padding=out_pad,
            groups=g,
            mode=m,
        )
        for m in modes
    )
    return CommandFields(command=command, fields=fields, run_options=run_options)


def _same_padding(in_sizes, fil_sizes, stride, dilation) -> list[int]:
    pads = []
    for size, k, s, d in zip(in_sizes, fil_sizes, stride, dilation):
        out = -(-size // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
        if total % 2:
            raise UnsupportedError(
                "--pad_mode same: needs asymmetric padding for this shape, which boo does not support"
            )
        pads.append(total // 2)
    return pads


def format_command(sig, **run_options) -> str:
    """Canonical short-flag line for one signature (a `ConvSignature`, read through its public
    fields); `run_options` (e.g. time=1, iter=100) are appended."""
    n = sig.num_spatial_dims
    letters = DEFAULT_LAYOUTS[n][2:]
    x = dict(zip(sig.input_layout, sig.input_shape))
    w = dict(zip(sig.kernel_layout, sig.kernel_shape))
    if sig.transposed:
        k = w["C"] * sig.groups
    else:
        k = w["N"]
    parts = [DTYPE_COMMANDS[sig.dtype]]
    if n != 2:
        parts += ["-_", str(n)]
    parts += ["-n", x["N"], "-c", x["C"]]
    short = {"D": "!", "H": "H", "W": "W"}
    parts += [tok for ch in letters for tok in (f"-{short[ch]}", x[ch])]
    parts += ["-k", k]
    fil_short = {"D": "@", "H": "y", "W": "x"}
    parts += [tok for ch in letters for tok in (f"-{fil_short[ch]}", w[ch])]
    for shorts, values in (
        ({"D": "$", "H": "p", "W": "q"}, sig.padding),
        ({"D": "#", "H": "u", "W": "v"}, sig.stride),
        ({"D": "^", "H": "l", "W": "j"}, sig.dilation),
    ):
        parts += [tok for ch, v in zip(letters, values) for tok in (f"-{shorts[ch]}", v)]
    parts += ["-m", "trans" if sig.transposed else "conv"]
    if sig.transposed:
        op = {"D": "%", "H": "Y", "W": "X"}
        parts += [tok for ch, v in zip(letters, sig.output_padding) for tok in (f"-{op[ch]}", v)]
    parts += ["-g", sig.groups]
    if sig.bias:
        parts += ["-b", 1]
    parts += ["-F", DIRECTION_BITS[sig.mode.value]]
    for name, value in run_options.items():
        spec = FLAGS_BY_LONG.get(name)
        if spec is None or spec.math:
            raise SignatureError(name, "not a MIOpenDriver run option")
        parts += [f"-{spec.short}" if spec.short else f"--{name}", value]
    parts += ["--in_layout", sig.input_layout, "--fil_layout", sig.kernel_layout, "--out_layout", sig.output_layout]
    return " ".join(str(p) for p in parts)
