"""Checks of the host reference libMIOpen.so.1 through the example app.

Builds the native tree with CMake, runs ``conv_app --out DIR`` on small
signatures and compares every tensor it writes against a float64 PyTorch
reference (F.conv*/conv_transpose* and autograd), using MIOpen's error
metric: rms(a - b) / max(max|a|, max|b|).

CPU only; torch is used only here.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

REPO = Path(__file__).resolve().parents[1]
TOL = {"float32": 1e-6, "float16": 1e-2, "bfloat16": 1e-2}


@pytest.fixture(scope="session")
def native_build(tmp_path_factory) -> Path:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not found on PATH")
    if not any(shutil.which(cc) for cc in (os.environ.get("CC", "cc"), "cc", "gcc", "clang")):
        pytest.skip("no C compiler (cc/gcc/clang) found on PATH")
    build = tmp_path_factory.mktemp("native_build")
    cfg = subprocess.run(
        [cmake, "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
        capture_output=True,
        text=True,
    )
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    bld = subprocess.run(
        [cmake, "--build", str(build), "--target", "conv_app", "-j", "4"],
        capture_output=True,
        text=True,
    )
    assert bld.returncode == 0, bld.stdout + bld.stderr
    assert (build / "bin" / "conv_app").exists()
    assert (build / "lib" / "libMIOpen.so.1").exists()
    return build


@pytest.fixture(scope="session")
def conv_app(native_build) -> Path:
    return native_build / "bin" / "conv_app"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def run_app(app: Path, args: list[str], out: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(app)]
    if out is not None:
        cmd += ["--out", str(out)]
    cmd += args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def load_tensor(out: Path, name: str, meta: dict) -> torch.Tensor:
    """Read NAME.bin and return it as float64 in logical N,C,(D,)H,W order."""
    info = meta[f"{name}.bin"]
    raw = (out / f"{name}.bin").read_bytes()
    dtype = info["dtype"]
    if dtype == "float32":
        arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    elif dtype == "float16":
        arr = np.frombuffer(raw, dtype="<f2").astype(np.float64)
    elif dtype == "bfloat16":
        u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
        arr = (u16 << 16).view(np.float32).astype(np.float64)
    else:
        raise AssertionError(f"unexpected dtype {dtype}")
    layout = info["layout"]
    arr = arr.reshape(info["shape"])
    canon = "NCHW" if len(layout) == 4 else "NCDHW"
    perm = [layout.index(ch) for ch in canon]
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(perm)))
    assert list(t.shape) == info["lens"]
    return t


def miopen_error(a: torch.Tensor, b: torch.Tensor) -> float:
    a = a.to(torch.float64)
    b = b.to(torch.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    denom = max(a.abs().max().item(), b.abs().max().item())
    rms = torch.sqrt(torch.mean((a - b) ** 2)).item()
    if denom == 0.0:
        return rms
    return rms / denom


def parse_flags(tokens: list[str]) -> dict:
    """The subset of MIOpenDriver flags the cases below use."""
    alias = {
        "-u": "su", "-v": "sw", "-#": "sd",
        "-p": "ph", "-q": "pw", "-$": "pd",
        "-l": "dh", "-j": "dw", "-^": "dd",
        "-g": "g", "-m": "mode", "-_": "spatial", "-b": "bias",
        "-Y": "ah", "-X": "aw", "-%": "ad", "-F": "forw",
    }
    f = {"su": 1, "sw": 1, "sd": 1, "ph": 0, "pw": 0, "pd": 0, "dh": 1, "dw": 1, "dd": 1,
         "g": 1, "mode": "conv", "spatial": 2, "bias": 0, "ah": 0, "aw": 0, "ad": 0, "forw": 0}
    i = 1  # skip the command
    while i < len(tokens):
        key, val = tokens[i], tokens[i + 1]
        if key in alias:
            f[alias[key]] = val if alias[key] == "mode" else int(val)
        i += 2
    return f


def reference(flags: dict, x, w, dy, b):
    """float64 torch reference: y (with bias), dx, dw, db."""
    sd = flags["spatial"]
    if sd == 3:
        stride = (flags["sd"], flags["su"], flags["sw"])
        pad = (flags["pd"], flags["ph"], flags["pw"])
        dil = (flags["dd"], flags["dh"], flags["dw"])
        adj = (flags["ad"], flags["ah"], flags["aw"])
        conv, convt = F.conv3d, F.conv_transpose3d
    else:
        stride = (flags["su"], flags["sw"])
        pad = (flags["ph"], flags["pw"])
        dil = (flags["dh"], flags["dw"])
        adj = (flags["ah"], flags["aw"])
        conv, convt = F.conv2d, F.conv_transpose2d
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    if flags["mode"] == "trans":
        y = convt(x, w, None, stride, pad, adj, flags["g"], dil)
    else:
        y = conv(x, w, None, stride, pad, dil, flags["g"])
    y.backward(dy)
    y = y.detach()
    db = None
    if b is not None:
        y = y + b
        db = dy.sum(dim=[d for d in range(dy.dim()) if d != 1], keepdim=True)
    return y, x.grad, w.grad, db


CASES = {
    "fwd_nchw_fp32": "conv -n 2 -c 4 -H 9 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 1",
    "bwd_nhwc_fp32": "conv -n 2 -c 4 -H 8 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 2 "
                     "-I NHWC -O NHWC -f NHWC",
    "wrw_groups_fp32": "conv -n 2 -c 6 -H 7 -W 7 -k 9 -y 3 -x 3 -g 3 -F 4",
    "all_nhwc_groups_bias": "conv -n 2 -c 8 -H 10 -W 10 -k 4 -y 3 -x 3 -p 1 -q 1 -u 1 -v 1 "
                            "-l 1 -j 1 -g 2 -F 0 -b 1 --in_layout NHWC --out_layout NHWC "
                            "--fil_layout NHWC",
    "stride2_dilation2": "conv -n 2 -c 3 -H 13 -W 11 -k 5 -y 3 -x 2 -u 2 -v 2 -l 2 -j 2 "
                         "-p 2 -q 1 -F 0",
    "mixed_layouts": "conv -n 1 -c 5 -H 6 -W 7 -k 3 -y 2 -x 3 -p 1 -q 0 -F 0 "
                     "-I NHWC -f NCHW -O NCHW",
    "conv3d_ndhwc": "conv -n 2 -c 3 -! 5 -H 6 -W 5 -k 4 -@ 3 -y 3 -x 2 -$ 1 -p 1 -q 0 "
                    "-# 2 -u 1 -v 2 -_ 3 -I NDHWC -O NDHWC -f NDHWC -F 0",
    "transposed_outpad": "conv -n 2 -c 4 -H 5 -W 6 -k 6 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 "
                         "-m trans -Y 1 -X 1 -g 2 -F 0",
    "transposed3d": "conv -n 1 -c 2 -! 3 -H 4 -W 4 -k 3 -@ 2 -y 3 -x 3 -# 2 -u 2 -v 1 "
                    "-$ 0 -p 1 -q 1 -% 1 -Y 1 -m trans -_ 3 -F 0",
    "fp16_nhwc": "convfp16 -n 2 -c 8 -H 8 -W 8 -k 8 -y 3 -x 3 -p 1 -q 1 -F 0 -b 1 "
                 "-I NHWC -O NHWC -f NHWC",
    "bf16_stride": "convbfp16 -n 2 -c 4 -H 9 -W 9 -k 6 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 -F 0 -b 1",
}


def check_case(app: Path, out: Path, args: list[str]) -> None:
    proc = run_app(app, args, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    flags = parse_flags([a for a in args if a != "--immediate"])
    x = load_tensor(out, "x", meta)
    w = load_tensor(out, "w", meta)
    dy = load_tensor(out, "dy", meta)
    b = load_tensor(out, "b", meta) if flags["bias"] else None
    y_ref, dx_ref, dw_ref, db_ref = reference(flags, x, w, dy, b)
    dtype = meta["x.bin"]["dtype"]
    tol = TOL[dtype]

    forw = flags["forw"] or 7
    expected = []
    if forw & 1:
        expected.append(("y", y_ref))
    if forw & 2:
        expected.append(("dx", dx_ref))
    if forw & 4:
        expected.append(("dw", dw_ref))
        if db_ref is not None:
            expected.append(("db", db_ref))
    assert expected
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == bin(forw).count("1"), proc.stdout
    for line in lines:
        assert " ok time=" in line and line.split(":")[0] in ("fwd", "bwd", "wrw"), line
    for name, ref in expected:
        got = load_tensor(out, name, meta)
        err = miopen_error(got, ref)
        assert err <= tol, f"{name}: error {err:.3e} > {tol:.0e} ({dtype})"


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(conv_app, tmp_path, name):
    check_case(conv_app, tmp_path, CASES[name].split())


def test_immediate_mode_matches(conv_app, tmp_path):
    args = ["--immediate"] + CASES["all_nhwc_groups_bias"].split()
    check_case(conv_app, tmp_path, args)


def test_driver_prefix_and_ignored_flags(conv_app, tmp_path):
    args = ("./bin/MIOpenDriver conv -n 1 -c 2 -H 5 -W 5 -k 3 -y 3 -x 3 -t 1 -i 10 -V 0 "
            "-w 1 -s 0 --pad_mode default -F 1").split()
    proc = run_app(conv_app, args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("fwd: y[1x3x3x3] ok time=")


def test_iters_and_seed_deterministic(conv_app, tmp_path):
    args = "conv -n 1 -c 3 -H 6 -W 6 -k 2 -y 3 -x 3 -F 1".split()
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run_app(conv_app, ["--seed", "7", "--iters", "3"] + args, a).returncode == 0
    assert run_app(conv_app, ["--seed", "7"] + args, b).returncode == 0
    assert run_app(conv_app, ["--seed", "8"] + args, c).returncode == 0
    assert (a / "y.bin").read_bytes() == (b / "y.bin").read_bytes()
    assert (a / "x.bin").read_bytes() != (c / "x.bin").read_bytes()
    x = np.frombuffer((a / "x.bin").read_bytes(), dtype="<f4")
    assert x.min() >= -1.0 and x.max() < 1.0


@pytest.mark.parametrize(
    "args",
    [
        # groups do not divide the channels
        "conv -n 1 -c 8 -H 5 -W 5 -k 6 -y 3 -x 3 -g 3 -F 1",
        # output channels not divisible by groups
        "conv -n 1 -c 8 -H 5 -W 5 -k 6 -y 3 -x 3 -g 4 -F 0",
        # transposed output padding must be smaller than the stride
        "conv -n 1 -c 4 -H 5 -W 5 -k 4 -y 3 -x 3 -u 1 -v 1 -m trans -Y 1 -X 1 -F 1",
    ],
)
def test_bad_signature_fails_cleanly(conv_app, tmp_path, args):
    proc = run_app(conv_app, args.split(), tmp_path)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "miopenStatusBadParm" in proc.stderr


def test_bad_command_line(conv_app):
    proc = run_app(conv_app, ["convint4", "-n", "1"])
    assert proc.returncode == 2
    assert "unsupported command" in proc.stderr


# ---------------------------------------------------------------------------
# 16-bit rounding of the library itself (ctypes, y = alpha * (x conv 1))
# ---------------------------------------------------------------------------


def _bf16_rne(v: float) -> int:
    """Independent double -> bfloat16 bits, round to nearest even."""
    if math.isnan(v):
        return 0x7FC0
    sign = 0x8000 if math.copysign(1.0, v) < 0 else 0
    a = abs(v)
    if math.isinf(a):
        return sign | 0x7F80
    if a == 0.0:
        return sign
    m, e = math.frexp(a)  # a = m * 2**e, 0.5 <= m < 1
    e -= 1  # a = (2m) * 2**e
    if e < -126:  # subnormal: multiple of 2**-133
        q = round(math.ldexp(a, 133))  # round() is exact ties-to-even
        return sign | q
    q = round(math.ldexp(a, 7 - e))
    if q == 256:
        q, e = 128, e + 1
    if e > 127:
        return sign | 0x7F80
    return sign | ((e + 127) << 7) | (q - 128)


def _run_scaled_identity(lib, dtype: int, xbits: np.ndarray, wbits: int, alpha: float) -> np.ndarray:
    vp = ctypes.c_void_p
    n = int(xbits.size)
    handle, xd, wd, yd, cd = vp(), vp(), vp(), vp(), vp()
    assert lib.miopenCreate(ctypes.byref(handle)) == 0
    for d in (xd, wd, yd):
        assert lib.miopenCreateTensorDescriptor(ctypes.byref(d)) == 0
    assert lib.miopenSet4dTensorDescriptor(xd, dtype, 1, 1, 1, n) == 0
    assert lib.miopenSet4dTensorDescriptor(yd, dtype, 1, 1, 1, n) == 0
    assert lib.miopenSet4dTensorDescriptor(wd, dtype, 1, 1, 1, 1) == 0
    assert lib.miopenCreateConvolutionDescriptor(ctypes.byref(cd)) == 0
    assert lib.miopenInitConvolutionDescriptor(cd, 0, 0, 0, 1, 1, 1, 1) == 0
    x = np.ascontiguousarray(xbits, dtype=np.uint16)
    w = np.array([wbits], dtype=np.uint16)
    y = np.zeros(n, dtype=np.uint16)
    a, b = ctypes.c_float(alpha), ctypes.c_float(0.0)
    st = lib.miopenConvolutionForward(
        handle, ctypes.byref(a), xd, x.ctypes.data_as(vp), wd, w.ctypes.data_as(vp), cd, 1,
        ctypes.byref(b), yd, y.ctypes.data_as(vp), None, ctypes.c_size_t(0))
    assert st == 0, st
    for d in (xd, wd, yd):
        lib.miopenDestroyTensorDescriptor(d)
    lib.miopenDestroyConvolutionDescriptor(cd)
    lib.miopenDestroy(handle)
    return y


@pytest.mark.parametrize("alpha", [1.0, 0.7, 3.0, 1.0009765625, 2.0**-10])
def test_fp16_bf16_round_to_nearest_even(native_build, alpha):
    lib = ctypes.CDLL(str(native_build / "lib" / "libMIOpen.so.1"))
    alpha = float(np.float32(alpha))
    bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    # -0.0 is left out: the accumulator starts at +0, so -0 * 1 sums to +0
    bits = bits[bits != 0x8000]

    # fp16: every finite pattern; numpy's float64 -> float16 is correctly rounded
    finite = bits[(bits & 0x7C00) != 0x7C00]
    got = _run_scaled_identity(lib, 0, finite, 0x3C00, alpha)
    with np.errstate(over="ignore"):  # overflow to inf is part of the check
        want = (finite.view(np.float16).astype(np.float64) * alpha).astype(np.float16)
    want = want.view(np.uint16)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, [(hex(finite[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]

    # bf16: every finite pattern against an independent rounding model
    finite = bits[(bits & 0x7F80) != 0x7F80]
    got = _run_scaled_identity(lib, 5, finite, 0x3F80, alpha)
    xs = (finite.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    want = np.array([_bf16_rne(float(v) * alpha) for v in xs], dtype=np.uint16)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, [(hex(finite[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]


# ---------------------------------------------------------------------------
# header cdef region + NULL robustness (cffi ABI mode)
# ---------------------------------------------------------------------------


def _cdef_region() -> str:
    text = (REPO / "native" / "include" / "miopen" / "miopen.h").read_text()
    region = text.split("/* BOO_CDEF_BEGIN */", 1)[1].split("/* BOO_CDEF_END */", 1)[0]
    assert "#" not in region and "MIOPEN_EXPORT" not in region
    return region


def test_null_arguments_return_errors(native_build):
    cffi = pytest.importorskip("cffi")
    ffi = cffi.FFI()
    ffi.cdef(_cdef_region())
    lib = ffi.dlopen(str(native_build / "lib" / "libMIOpen.so.1"))
    assert ffi.sizeof("miopenConvAlgoPerf_t") == 16
    assert ffi.offsetof("miopenConvSolution_t", "solution_id") == 16

    names = sorted(n for n in dir(lib) if n.startswith("miopen") and callable(getattr(lib, n)))
    assert len(names) >= 58
    for name in names:
        fn = getattr(lib, name)
        if name == "miopenGetErrorString":
            for st in list(range(12)) + [999]:
                assert ffi.string(fn(st)).decode()
            continue
        args = [ffi.NULL if a.kind == "pointer" else 0 for a in ffi.typeof(fn).args]
        st = fn(*args)
        if name == "miopenGetVersion":  # NULL outputs are ignored
            assert st == 0
        else:
            assert st != 0, f"{name} accepted NULL/zero arguments"

    # a created-but-unset tensor descriptor is rejected, not dereferenced
    td = ffi.new("miopenTensorDescriptor_t*")
    size = ffi.new("int*")
    assert lib.miopenCreateTensorDescriptor(td) == 0
    assert lib.miopenGetTensorDescriptorSize(td[0], size) == lib.miopenStatusBadParm
    assert lib.miopenDestroyTensorDescriptor(td[0]) == 0


# ---------------------------------------------------------------------------
# conv attributes, find mode, V2 descriptors, legacy modes (ctypes)
# ---------------------------------------------------------------------------


def test_conv_attributes_find_mode_and_modes(native_build):
    lib = ctypes.CDLL(str(native_build / "lib" / "libMIOpen.so.1"))
    cd, td = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.miopenCreateConvolutionDescriptor(ctypes.byref(cd)) == 0
    v = ctypes.c_int(-7)
    # defaults as MIOpen: FP16_ALT_IMPL -1, DETERMINISTIC 0, FP8 rounding stochastic (1), math default (0)
    for attr, want in ((0, -1), (1, 0), (2, 1), (3, 0)):
        assert lib.miopenGetConvolutionAttribute(cd, attr, ctypes.byref(v)) == 0 and v.value == want
    for attr, good, bad in ((0, 1, 2), (1, 1, 2), (2, 0, 5), (3, 1, 2)):
        assert lib.miopenSetConvolutionAttribute(cd, attr, good) == 0
        assert lib.miopenSetConvolutionAttribute(cd, attr, bad) == 3  # BadParm, value kept
        assert lib.miopenGetConvolutionAttribute(cd, attr, ctypes.byref(v)) == 0 and v.value == good
    assert lib.miopenSetConvolutionAttribute(cd, 9, 0) == 3
    assert lib.miopenGetConvolutionFindMode(cd, ctypes.byref(v)) == 0 and v.value == 5
    assert lib.miopenSetConvolutionFindMode(cd, 1) == 0
    assert lib.miopenGetConvolutionFindMode(cd, ctypes.byref(v)) == 0 and v.value == 1
    # miopenDepthwise (3) / miopenGroupConv (2) are accepted and read back as miopenConvolution
    ints = [ctypes.c_int() for _ in range(7)]
    for mode in (2, 3):
        assert lib.miopenInitConvolutionDescriptor(cd, mode, 1, 1, 1, 1, 1, 1) == 0
        assert lib.miopenGetConvolutionDescriptor(cd, *[ctypes.byref(i) for i in ints]) == 0
        assert ints[0].value == 0
    assert lib.miopenInitConvolutionDescriptor(cd, 4, 1, 1, 1, 1, 1, 1) == 3
    # attributes survive re-initialisation
    assert lib.miopenGetConvolutionAttribute(cd, 1, ctypes.byref(v)) == 0 and v.value == 1
    # SetTensorDescriptorV2 (size_t lens/strides), channels_last strides read back
    assert lib.miopenCreateTensorDescriptor(ctypes.byref(td)) == 0
    lens, strides = (ctypes.c_size_t * 4)(2, 3, 4, 5), (ctypes.c_size_t * 4)(60, 1, 15, 3)
    assert lib.miopenSetTensorDescriptorV2(td, 1, 4, lens, strides) == 0
    dims, strs, dt = (ctypes.c_int * 4)(), (ctypes.c_int * 4)(), ctypes.c_int()
    assert lib.miopenGetTensorDescriptor(td, ctypes.byref(dt), dims, strs) == 0
    assert list(dims) == [2, 3, 4, 5] and list(strs) == [60, 1, 15, 3] and dt.value == 1
    assert lib.miopenSetTensorDescriptorV2(td, 1, 4, (ctypes.c_size_t * 4)(2, 0, 4, 5), None) == 3
    assert lib.miopenDestroyTensorDescriptor(td) == 0
    assert lib.miopenDestroyConvolutionDescriptor(cd) == 0
