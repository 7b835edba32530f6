"""The MIOpen-compatible shim end to end: conv_app (a plain MIOpen program) run against the
reference libMIOpen.so.1 and with LD_PRELOAD=libboo_miopen_shim.so backed by a real boo daemon.

Builds the shim and the native pieces (cmake) into a tmp dir, starts `boo-daemon` on a tmp ipc
endpoint with a tmp cache, and compares outputs with MIOpen's error metric.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from boo_shim.grammar import parse_command
from boo_shim.numerics import TOLERANCES, miopen_error

REPO = Path(__file__).resolve().parents[1]
HEADER = REPO / "native" / "include" / "miopen" / "miopen.h"
PY = sys.executable

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("cc") is None,
                                reason="needs cmake and a C compiler")


@pytest.fixture(scope="session")
def native(native_tree):
    """The session's one cmake build (tests/native_harness.py), named as these tests use it."""
    b = native_tree["bin"]
    return {"build": native_tree["build"], "app": b / "conv_app", "threads": b / "shim_threads",
            "shim": native_tree["shim"]}


@pytest.fixture(scope="session")
def daemon(boo_daemon):
    return boo_daemon


def run_app(native, args, *, shim=True, endpoint=None, env_extra=None, out=None, bare=False, check=True,
            program=None):
    cmd = [str(program or native["app"])]
    if out is not None:
        cmd += ["--out", str(out)]
    cmd += args.split() if isinstance(args, str) else list(args)
    if bare:
        env = {"PATH": "/usr/bin:/bin"}
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOO_") and k != "LD_PRELOAD"}
    if shim:
        env["LD_PRELOAD"] = str(native["shim"])
    if endpoint:
        env["BOO_ENDPOINT"] = endpoint
    env.update(env_extra or {})
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    if check:
        assert p.returncode == 0, f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def load(dirpath: Path, name: str) -> np.ndarray:
    import ml_dtypes

    meta = json.loads((dirpath / "meta.json").read_text())[name + ".bin"]
    dt = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}[meta["dtype"]]
    return np.fromfile(dirpath / f"{name}.bin", dtype=dt).reshape(meta["shape"]).astype(np.float64)


def compare_outputs(ref_dir: Path, shim_dir: Path, names, tol: float):
    import torch

    for name in names:
        a, b = load(ref_dir, name), load(shim_dir, name)
        err = miopen_error(torch.from_numpy(b), torch.from_numpy(a))
        assert err <= tol, f"{name}: miopen_error {err:.3g} > {tol}"


CASES = {
    "fwd_bwd_wrw_nchw": ("conv -n 2 -c 4 -H 8 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 0", ["y", "dx", "dw"], "fp32"),
    "nhwc_groups": ("conv -n 2 -c 8 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -g 2 -F 0 --in_layout NHWC "
                    "--out_layout NHWC --fil_layout NHWC", ["y", "dx", "dw"], "fp32"),
    "stride_fwd_bias": ("conv -n 1 -c 3 -H 9 -W 9 -k 5 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 -b 1 -F 5",
                        ["y", "dw", "db"], "fp32"),
    "bf16": ("convbfp16 -n 2 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 0", ["y", "dx", "dw"], "bf16"),
    "fp16": ("convfp16 -n 2 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 0", ["y", "dx", "dw"], "fp16"),
    "transposed": ("conv -n 1 -c 4 -H 5 -W 5 -k 6 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 -m trans -Y 1 -X 1 -F 0",
                   ["y", "dx", "dw"], "fp32"),
    "conv3d_ndhwc": ("conv -n 1 -c 3 -! 4 -H 5 -W 5 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -_ 3 -I NDHWC -O NDHWC "
                     "-f NDHWC -F 1", ["y"], "fp32"),
    "immediate": ("--immediate conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 0", ["y", "dx", "dw"], "fp32"),
}


def check_case_against_reference(native, daemon, tmp_path, case, env_extra=None):
    """conv_app on the reference library, then under the shim with nothing allowed to fall back."""
    import torch

    args, names, dtype = CASES[case]
    run_app(native, args, shim=False, out=tmp_path / "ref")
    p = run_app(native, args, endpoint=daemon, out=tmp_path / "shim",
                env_extra={"BOO_FALLBACK": "error", **(env_extra or {})})
    assert "fallback" not in p.stderr, p.stderr
    tol = TOLERANCES[{"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]]
    compare_outputs(tmp_path / "ref", tmp_path / "shim", names, max(tol, 1e-5))


@pytest.mark.parametrize("case", list(CASES))
def test_conv_app_matches_reference(native, daemon, tmp_path, case):
    check_case_against_reference(native, daemon, tmp_path, case)


def test_fallback_when_daemon_down(native, tmp_path):
    args = "conv -n 2 -c 4 -H 8 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 0"
    run_app(native, args, shim=False, out=tmp_path / "ref")
    p = run_app(native, args, endpoint=f"ipc://{tmp_path}/nobody.sock", out=tmp_path / "shim")
    assert "fallback to native MIOpen" in p.stderr
    compare_outputs(tmp_path / "ref", tmp_path / "shim", ["y", "dx", "dw"], 1e-6)


def test_fallback_error_mode(native, tmp_path):
    p = run_app(native, "conv -n 1 -c 2 -H 4 -W 4 -k 2 -y 1 -x 1 -F 1", endpoint=f"ipc://{tmp_path}/nobody.sock",
                env_extra={"BOO_FALLBACK": "error"}, check=False)
    assert p.returncode == 1
    assert re.search(r"miopenStatus\w+", p.stderr) and "BOO_FALLBACK=error" in p.stderr


def test_disable_uses_native(native, tmp_path):
    p = run_app(native, "conv -n 1 -c 2 -H 4 -W 4 -k 2 -y 1 -x 1 -F 1", endpoint=f"ipc://{tmp_path}/x.sock",
                env_extra={"BOO_DISABLE": "1"})
    assert "BOO_DISABLE=1" in p.stderr


def test_bad_groups_is_badparm_not_crash(native, daemon):
    p = run_app(native, "conv -n 1 -c 8 -H 5 -W 5 -k 6 -y 3 -x 3 -g 3 -F 1", endpoint=daemon, check=False)
    assert p.returncode == 1 and "miopenStatusBadParm" in p.stderr


def test_compare_mode_logs_times_and_error(native, daemon):
    p = run_app(native, "conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1", endpoint=daemon,
                env_extra={"BOO_COMPARE": "1"})
    m = re.search(r"compare miopenConvolutionForward boo=([\d.]+)ms native=([\d.]+)ms miopen_error=(\S+)", p.stderr)
    assert m, p.stderr
    assert float(m.group(3)) < 1e-5


def test_log_cmd_lines_parse(native, daemon, tmp_path):
    log = tmp_path / "cmd.log"
    args = "conv -n 2 -c 8 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -g 2 -F 0 --in_layout NHWC --out_layout NHWC " \
           "--fil_layout NHWC"
    run_app(native, args, endpoint=daemon, env_extra={"BOO_LOG_CMD": "1", "BOO_LOG_FILE": str(log)})
    lines = [ln for ln in log.read_text().splitlines() if "LogCmdConvolution" in ln]
    assert lines and all(ln.startswith("MIOpen(HIP): Command [LogCmdConvolution] ./bin/MIOpenDriver conv ")
                         for ln in lines)
    modes = set()
    for ln in lines:
        (sig,) = parse_command(ln).signatures
        assert sig.groups == 2 and sig.input_layout == "NHWC"
        modes.add(sig.mode.value)
    assert modes == {"fwd", "bwd", "wrw"}


def test_exports_every_header_function(native):
    from boo_shim.shim.build import cdef_region, function_names

    names = set(function_names(cdef_region(HEADER)))
    assert len(names) == 63
    out = subprocess.run(["nm", "-D", "--defined-only", str(native["shim"])], capture_output=True, text=True,
                         check=True).stdout
    exported = {ln.split()[-1] for ln in out.splitlines() if " T " in ln}
    assert names <= exported, sorted(names - exported)


def test_bare_environment(native, daemon, tmp_path):
    args = "conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1"
    run_app(native, args, shim=False, out=tmp_path / "ref")
    p = run_app(native, args, endpoint=daemon, bare=True, out=tmp_path / "shim",
                env_extra={"BOO_FALLBACK": "error"})
    assert "fwd: y" in p.stdout
    compare_outputs(tmp_path / "ref", tmp_path / "shim", ["y"], 1e-5)


def test_threads(native, daemon):
    plain = run_app(native, "4 2", shim=False, program=native["threads"])
    p = run_app(native, "4 2", endpoint=daemon, program=native["threads"], env_extra={"BOO_FALLBACK": "error"})
    a = float(re.search(r"checksum=(\S+)", plain.stdout).group(1))
    b = float(re.search(r"checksum=(\S+)", p.stdout).group(1))
    assert abs(a - b) <= 1e-3 * max(1.0, abs(a))


def test_init_failure_is_an_error_status(native, tmp_path):
    """A shim whose Python side cannot import reports NotInitialized (never 0, never a crash)."""
    env_extra = {"PYTHONPATH": str(tmp_path), "BOO_PYTHON_USE_ENV": "1"}
    broken = tmp_path / "boo_shim"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    p = run_app(native, "conv -n 1 -c 2 -H 4 -W 4 -k 2 -y 1 -x 1 -F 1", env_extra=env_extra, check=False)
    assert p.returncode == 1
    assert "miopenStatusNotInitialized" in p.stderr
    assert p.stderr.count("initialisation failed") == 1


@pytest.mark.parametrize("case", ["nhwc_groups", "bf16"])
def test_local_execution_matches_reference(native, daemon, tmp_path, case):
    """BOO_EXECUTE=local: the daemon compiles, the program's own process runs the kernel."""
    check_case_against_reference(native, daemon, tmp_path, case, {"BOO_EXECUTE": "local"})


def test_local_execution_without_daemon_compiles_in_process(native, tmp_path):
    args = "conv -n 1 -c 2 -H 5 -W 5 -k 3 -y 3 -x 3 -p 1 -q 1 -F 1"
    run_app(native, args, shim=False, out=tmp_path / "ref")
    run_app(native, args, endpoint=f"ipc://{tmp_path}/nobody.sock", out=tmp_path / "shim",
            env_extra={"BOO_FALLBACK": "error", "BOO_EXECUTE": "local", "BOO_CACHE_DIR": str(tmp_path / "cache")})
    compare_outputs(tmp_path / "ref", tmp_path / "shim", ["y"], 1e-5)
    assert list((tmp_path / "cache").rglob("*.vmfb")), "the kernel was not compiled into the given cache"


def test_native_library_loaded_privately_is_found(native, tmp_path):
    """PyTorch's ROCm build brings libMIOpen in through a dlopen'ed library (RTLD_LOCAL), where
    dlsym(RTLD_NEXT) cannot see it: the shim must still find it, and hand out its objects."""
    lib = native["build"] / "lib" / "libMIOpen.so.1"
    code = f"""
import ctypes, os, sys
ref = ctypes.CDLL({str(lib)!r}, mode=os.RTLD_LOCAL)
shim = ctypes.CDLL({str(native["shim"])!r}, mode=os.RTLD_LOCAL)
h = ctypes.c_void_p()
assert shim.miopenCreate(ctypes.byref(h)) == 0
stream = ctypes.c_void_p()
# asked of the reference library directly: only its own handles pass its check
print("native_status", ref.miopenGetStream(h, ctypes.byref(stream)))
print("destroy", shim.miopenDestroy(h))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOO_") and k != "LD_PRELOAD"}
    env["BOO_ENDPOINT"] = f"ipc://{tmp_path}/nobody.sock"
    p = subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "native_status 0" in p.stdout and "destroy 0" in p.stdout, p.stdout + p.stderr
