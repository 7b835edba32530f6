"""Issue 18's preparation, checked on a CPU: keys that travel to a machine with no compiler,
the DLPack call path, the driver's clocks and device option, the GPU suite. The checks that need
a GPU skip with the reason; scripts/gpu_check.sh is the device check itself (docs/gpu.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from boo_shim import compile as C
from boo_shim import targets as T
from boo_shim.cache import KernelCache
from boo_shim.conv import ConvSignature
from boo_shim.driver import BooError, Options, _split_args, clock_for, time_calls
from boo_shim.errors import CompileError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SIGS = Path(os.environ.get("BOO_SIGNATURES_DIR") or REPO.parent / "shared" / "signatures")
CUDA = torch.cuda.is_available()
TINY = ConvSignature(input_shape=[2, 3, 6, 5], kernel_shape=[4, 3, 3, 3], dtype="fp32", padding=1)


def test_gpu_cache_key_does_not_depend_on_the_host_cpu(monkeypatch):
    keys = {}
    for fp in ("x86_64-aaaa", "x86_64-bbbb"):
        monkeypatch.setattr(T, "_host_cpu_fingerprint", lambda fp=fp: fp)
        keys[fp] = (C.cache_key(TINY, T.parse_target("cuda:sm_80"), "auto", ())[0],
                    C.cache_key(TINY, T.parse_target("cpu"), "auto", ())[0])
    (gpu_a, cpu_a), (gpu_b, cpu_b) = keys.values()
    assert gpu_a == gpu_b  # a cuda vmfb built here is found there
    assert cpu_a != cpu_b  # while `host` binaries stay pinned to their CPU
    assert T.parse_target("cuda:sm_80").cache_id == "cuda-sm_80"


@pytest.fixture
def no_compiler(monkeypatch):
    """This process as on the GPU machine: iree.compiler cannot be imported."""
    real_version = C.compiler_version()
    for name in [m for m in sys.modules if m == "iree.compiler" or m.startswith("iree.compiler.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "iree.compiler", None)
    C.compiler_version.cache_clear()
    C._iree_compile.cache_clear()
    yield real_version
    C.compiler_version.cache_clear()
    C._iree_compile.cache_clear()


def test_keys_without_the_compiler_come_from_the_recorded_version(no_compiler, monkeypatch):
    monkeypatch.delenv("BOO_COMPILER_VERSION", raising=False)
    with pytest.raises(CompileError, match="BOO_COMPILER_VERSION"):
        C.compiler_version()
    monkeypatch.setenv("BOO_COMPILER_VERSION", no_compiler)
    C.compiler_version.cache_clear()
    assert C.compiler_version() == no_compiler  # so the keys equal those the bundle was built with


def test_a_miss_without_the_compiler_says_so_and_is_not_remembered(no_compiler, monkeypatch, tmp_path):
    monkeypatch.setenv("BOO_COMPILER_VERSION", no_compiler)
    with pytest.raises(CompileError, match="not in the cache") as e:
        C.compile_signature(TINY, "cuda:sm_80", cache=str(tmp_path))
    assert e.value.deterministic is False
    assert KernelCache(tmp_path).entries() == []  # the same cache with a compiler must still compile it


def test_a_bundle_cache_hit_needs_no_compiler(no_compiler, monkeypatch, tmp_path):
    monkeypatch.setenv("BOO_COMPILER_VERSION", no_compiler)
    C.compiler_version.cache_clear()
    monkeypatch.setitem(sys.modules, "iree.compiler", None)
    key, flags = C.cache_key(TINY, T.parse_target("cuda:sm_80"), "auto", ())
    from boo_shim.cache import BuildResult

    KernelCache(tmp_path).get_or_build("cuda-sm_80", key, lambda: BuildResult(b"vmfb", "ir", "cmd", {"strategy": "x"}))
    hit = C.compile_signature(TINY, "cuda:sm_80", cache=str(tmp_path))
    assert hit.cache_hit and hit.entry.read_vmfb() == b"vmfb"


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_run_dlpack_matches_the_copying_path(tmp_path, dtype):
    from boo_shim.runtime import LoadedKernels

    sig = ConvSignature(input_shape=[2, 3, 6, 5], kernel_shape=[4, 3, 3, 3], dtype=dtype, padding=1)
    kernel = LoadedKernels().get(sig.with_mode("bwd"), "cpu", cache_dir=str(tmp_path))
    args = kernel.signature.get_sample_conv_args(seed=3)
    out = kernel.run_dlpack(*args)
    assert isinstance(out, torch.Tensor) and out.dtype == sig.dtype
    assert torch.equal(out, kernel(*args))
    assert tuple(out.shape) == tuple(kernel.signature.result_shape)


def test_driver_device_cuda_picks_the_cuda_target_and_events_clock():
    opts = _split_args(["--device", "cuda", "conv", "-n", "1"])
    assert opts.target == "cuda" and clock_for(opts) == "events"
    assert _split_args(["--device", "cuda", "--target", "cuda:sm_89", "conv"]).target == "cuda:sm_89"
    assert clock_for(Options()) == "host"
    assert clock_for(_split_args(["--target", "cuda", "--timing", "kernels", "conv"])) == "kernels"
    with pytest.raises(BooError, match="--timing"):
        _split_args(["--timing", "wall", "conv"])


def test_host_clock_counts_every_call():
    calls = []
    t = time_calls(lambda: calls.append(1), iters=4, warmup=2, clock="host")
    assert len(calls) == 6 and len(t.samples_us) == 4


@pytest.mark.skipif(CUDA, reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("clock", ["events", "kernels"])
def test_gpu_clocks_refuse_without_cuda(clock):
    with pytest.raises(BooError, match="CUDA"):
        time_calls(lambda: None, 2, 0, clock)


@pytest.mark.skipif(not SIGS.exists(), reason=f"no signatures at {SIGS} (set BOO_SIGNATURES_DIR)")
def test_gpu_suite_covers_directions_dtypes_and_layouts():
    from bench.gpu_report import build_suite

    suite = build_suite(8, 4e9)
    assert len(suite) >= 24 and len(set(suite)) == len(suite)
    assert {s.mode.value for s in suite} == {"fwd", "bwd", "wrw"}
    assert {str(s.dtype) for s in suite} == {"torch.float32", "torch.float16", "torch.bfloat16"}
    assert {"NCHW", "NHWC"} <= {s.input_layout for s in suite}
    assert all(s.flops <= 4e9 or s.input_shape[s.input_layout.index("N")] == 1 for s in suite)


def test_relayout_keeps_the_convolution():
    from bench.gpu_report import _relayout_nhwc

    sig = ConvSignature(input_shape=[2, 3, 6, 5], kernel_shape=[4, 3, 3, 2], dtype="fp32", padding=1, stride=2)
    nhwc = _relayout_nhwc(sig)
    assert nhwc.input_layout == "NHWC" and nhwc.flops == sig.flops
    x, w = sig.get_sample_conv_args(seed=0)
    want = sig.get_nn_module()(x, w)
    got = nhwc.get_nn_module()(x.permute(0, 2, 3, 1).contiguous(), w.permute(0, 2, 3, 1).contiguous())
    torch.testing.assert_close(got.permute(0, 3, 1, 2), want)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (scripts/gpu_check.sh runs this on the device machine)")
def test_driver_on_cuda_verifies_both_backends(tmp_path):
    from boo_shim.driver import run_command

    opts = _split_args(["--device", "cuda", "--backend", "iree", "--backend", "torch",
                        "--cache-dir", os.environ.get("BOO_GPU_CACHE", str(tmp_path))])
    ok, rows = run_command("conv -n 2 -c 4 -H 8 -W 8 -k 6 -y 3 -x 3 -p 1 -q 1 -F 0 -t 1 -i 3", opts, out=lambda s: None)
    assert ok, rows
