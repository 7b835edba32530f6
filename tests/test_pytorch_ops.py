"""boo from PyTorch: the `boo_conv` op and its autograd, the modules, torch.compile, fallback
and daemon execution. Shapes are tiny and mostly distinct from other test modules'."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from boo_shim import ops
from boo_shim.conv import Mode
from boo_shim.errors import CompileError
from boo_shim.modeling import (BooConv1d, BooConv2d, BooConv3d, BooConvTranspose2d, replace_convs_with_boo)
from boo_shim.numerics import TOLERANCES, miopen_error
from boo_shim.ops import BooFallbackWarning, boo_conv

_FN = {(1, False): F.conv1d, (2, False): F.conv2d, (3, False): F.conv3d,
       (1, True): F.conv_transpose1d, (2, True): F.conv_transpose2d, (3, True): F.conv_transpose3d}


@pytest.fixture(autouse=True)
def _fresh_fallbacks():
    ops.reset_fallback_warnings()
    yield


class Recorder:
    """Wraps `ops._execute`: which signatures boo ran (so a test fails if torch did the work)."""

    def __init__(self, monkeypatch):
        self.sigs = []
        real = ops._execute

        def record(sig, args, execute):
            self.sigs.append((sig, execute))
            return real(sig, args, execute)

        monkeypatch.setattr(ops, "_execute", record)

    def modes(self):
        return sorted(s.mode.value for s, _ in self.sigs)


def _torch_ref(x, w, b, dy, nd, is_transposed, **kw):
    """float64 forward and gradients of the same (already rounded) values."""
    x64, w64 = x.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    b64 = b.detach().double().requires_grad_() if b is not None else None
    kw = {k: v for k, v in kw.items() if k != "transposed"}
    y = _FN[(nd, is_transposed)](x64, w64, b64, **kw)
    y.backward(dy.double())
    return y, x64.grad, w64.grad, (b64.grad if b is not None else None)


CASES = [
    # (id, nd, dtype, x shape, w shape, bias, kwargs, channels_last)
    ("2d-f32-stride-pad-bias", 2, torch.float32, (2, 3, 9, 8), (5, 3, 3, 3), True, dict(stride=2, padding=1), False),
    ("2d-f32-chlast-groups-dil", 2, torch.float32, (1, 4, 8, 8), (6, 2, 3, 3), False,
     dict(groups=2, dilation=2, padding=2), True),
    ("1d-f32-same-even-kernel", 1, torch.float32, (2, 3, 11), (4, 3, 4), True, dict(padding="same", dilation=1), False),
    ("3d-bf16-valid", 3, torch.bfloat16, (1, 2, 4, 5, 5), (3, 2, 2, 3, 3), True, dict(padding="valid"), False),
    ("2d-f16-depthwise", 2, torch.float16, (2, 6, 7, 7), (6, 1, 3, 3), False, dict(groups=6, padding=1), False),
    ("2d-f32-transposed", 2, torch.float32, (1, 4, 5, 4), (4, 3, 3, 3), True,
     dict(transposed=True, stride=2, padding=1, output_padding=1, groups=1), False),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_boo_conv_matches_float64(case, monkeypatch):
    _, nd, dtype, xs, ws, has_bias, kw, cl = case
    rec = Recorder(monkeypatch)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(xs, generator=g).to(dtype)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    w = torch.randn(ws, generator=g).to(dtype).requires_grad_()
    b = torch.randn(ws[1] * kw.get("groups", 1) if kw.get("transposed") else ws[0], generator=g).to(dtype)
    b = b.requires_grad_() if has_bias else None
    y = boo_conv(x, w, b, **kw)
    dy = torch.randn(y.shape, generator=g).to(dtype)
    y.backward(dy)
    y64, dx64, dw64, db64 = _torch_ref(x, w, b, dy, nd, bool(kw.get("transposed")), **kw)
    tol = TOLERANCES[dtype]
    assert y.dtype == dtype and y.shape == y64.shape
    assert miopen_error(y, y64) <= tol
    assert miopen_error(x.grad, dx64) <= tol
    assert miopen_error(w.grad, dw64) <= tol
    if has_bias:
        assert miopen_error(b.grad, db64) <= tol
    if cl:  # channels-last in, channels-last out and back, with no copy to NCHW
        assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()
        assert x.grad.is_contiguous(memory_format=torch.channels_last)
        assert any(s.input_layout == "NHWC" for s, _ in rec.sigs)
    assert rec.modes() == ["bwd", "fwd", "wrw"]
    assert ops.fallback_counts() == {}


def test_only_the_needed_gradients_are_computed(monkeypatch):
    rec = Recorder(monkeypatch)
    x = torch.randn(1, 3, 6, 6)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    boo_conv(x, w).sum().backward()
    assert rec.modes() == ["fwd", "wrw"]
    rec.sigs.clear()
    x.requires_grad_()
    w.requires_grad_(False)
    boo_conv(x, w).sum().backward()
    assert rec.modes() == ["bwd", "fwd"]
    rec.sigs.clear()
    with torch.no_grad():
        boo_conv(x, w)
    assert rec.modes() == ["fwd"]


def test_unbatched_input_and_explicit_layouts():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 6, 5, generator=g)
    w = torch.randn(4, 3, 3, 3, generator=g)
    ref = F.conv2d(x.double(), w.double(), padding=1)
    assert miopen_error(boo_conv(x[0], w, padding=1), ref[0]) <= 1e-5
    # iree-turbine's layout arguments: the tensors' dims are given in that order.
    y = boo_conv(x.permute(0, 2, 3, 1), w.permute(0, 2, 3, 1), padding=1, shared_layout="NHWC")
    assert y.shape == (2, 6, 5, 4)
    assert miopen_error(y, ref.permute(0, 2, 3, 1)) <= 1e-5


def test_autocast_casts_inputs_and_keeps_fp32_grads():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(1, 3, 8, 8, generator=g, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, generator=g, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = boo_conv(x, w, padding=1)
    assert y.dtype == torch.bfloat16
    dy = torch.randn(y.shape, generator=g).to(torch.bfloat16)
    y.backward(dy)
    assert x.grad.dtype == torch.float32 and w.grad.dtype == torch.float32
    xb, wb = x.detach().to(torch.bfloat16), w.detach().to(torch.bfloat16)
    y64, dx64, dw64, _ = _torch_ref(xb, wb, None, dy, 2, False, padding=1)
    tol = TOLERANCES[torch.bfloat16]
    assert miopen_error(y, y64) <= tol and miopen_error(x.grad, dx64) <= tol and miopen_error(w.grad, dw64) <= tol


def test_unsupported_falls_back_to_torch_with_one_warning():
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    with pytest.warns(BooFallbackWarning, match="float64"):
        y = boo_conv(x, w)
    torch.testing.assert_close(y, F.conv2d(x, w), rtol=0, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same reason does not warn again
        y = boo_conv(x, w)
        y.sum().backward()
    xr, wr = x.detach().requires_grad_(), w.detach().requires_grad_()
    F.conv2d(xr, wr).sum().backward()
    torch.testing.assert_close(x.grad, xr.grad, rtol=0, atol=0)
    torch.testing.assert_close(w.grad, wr.grad, rtol=0, atol=0)
    assert sum(ops.fallback_counts().values()) == 4  # fwd, fwd, bwd, wrw


def test_a_kernel_boo_cannot_build_falls_back_and_is_not_retried(monkeypatch):
    import boo_shim.runtime as runtime

    calls = []

    def refuse(sig, target="cpu", **kw):
        calls.append(sig)
        raise CompileError("iree-compile failed (simulated)")

    monkeypatch.setattr(runtime, "get_kernel", refuse)
    x, w = torch.randn(1, 2, 6, 6), torch.randn(2, 2, 1, 1)
    with pytest.warns(BooFallbackWarning, match="CompileError"):
        y = boo_conv(x, w)
    assert torch.equal(y, F.conv2d(x, w))
    boo_conv(x, w)
    assert len(calls) == 1


def test_bad_arguments_are_errors():
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match="execute"):
        boo_conv(x, w, execute="gpu-please")
    with pytest.raises(ValueError, match="strided"):
        boo_conv(x, w, padding="same", stride=2)
    with pytest.raises(ValueError, match="padding string"):
        boo_conv(x, w, padding="full")


# ----------------------------------------------------------------------------- modules
@pytest.mark.parametrize("cls,base,shape", [(BooConv1d, nn.Conv1d, (2, 4, 9)), (BooConv2d, nn.Conv2d, (2, 4, 7, 6)),
                                            (BooConv3d, nn.Conv3d, (1, 4, 3, 4, 5))])
def test_modules_are_drop_in(cls, base, shape, monkeypatch):
    rec = Recorder(monkeypatch)
    torch.manual_seed(0)
    ref = base(4, 6, 3, padding=1, bias=True)
    boo = cls(4, 6, 3, padding=1, bias=True)
    assert isinstance(boo, base) and list(boo.state_dict()) == list(ref.state_dict())
    boo.load_state_dict(ref.state_dict())
    x = torch.randn(shape)
    assert miopen_error(boo(x), ref.double()(x.double())) <= 1e-5
    assert [s.mode for s, _ in rec.sigs] == [Mode.FWD]


def test_padding_modes_and_transposed_output_size():
    torch.manual_seed(1)
    x = torch.randn(1, 3, 6, 6)
    for mode in ("reflect", "circular"):
        ref = nn.Conv2d(3, 4, 3, padding=1, padding_mode=mode)
        boo = BooConv2d(3, 4, 3, padding=1, padding_mode=mode)
        boo.load_state_dict(ref.state_dict())
        assert miopen_error(boo(x), ref.double()(x.double())) <= 1e-5
    ref = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    boo = BooConvTranspose2d(3, 2, 3, stride=2, padding=1)
    boo.load_state_dict(ref.state_dict())
    y = boo(x, output_size=[12, 12])
    assert y.shape == (1, 2, 12, 12)
    assert miopen_error(y, ref.double()(x.double(), output_size=[12, 12])) <= 1e-5


class _Doubled(nn.Conv2d):
    def forward(self, x):  # not torch's conv: boo must not replace it
        return 2 * super().forward(x)


def test_replace_convs_shares_weights_and_lists_what_it_leaves():
    torch.manual_seed(2)
    shared = nn.Conv2d(4, 4, 1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), shared, shared, _Doubled(4, 4, 1),
                          nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Sequential(nn.Conv1d(2, 2, 1)))
    params = {n: p for n, p in model.named_parameters()}
    x = torch.randn(1, 3, 5, 5)
    before = model[:6](x)  # the Conv1d is there to be left alone, not run
    with pytest.warns(UserWarning, match=r"4 \(_Doubled\)"):
        out = replace_convs_with_boo(model, allowed_spatial_dims=(2,))
    assert out is model
    assert [type(m).__name__ for m in model] == ["BooConv2d", "ReLU", "BooConv2d", "BooConv2d", "_Doubled",
                                                 "BooConvTranspose2d", "Sequential"]
    assert type(model[6][0]) is nn.Conv1d  # 1D not allowed here
    assert model[2] is model[3]  # one module used twice stays one module
    assert all(p is params[n] for n, p in model.named_parameters())
    assert miopen_error(model[:6](x), before) <= 1e-5
    only_1x1 = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 3))
    replace_convs_with_boo(only_1x1, kwarg_mapping={2: {"kernel_size": 1}})
    assert [type(m).__name__ for m in only_1x1] == ["BooConv2d", "Conv2d"]


# ----------------------------------------------------------------------------- torch.compile
@pytest.mark.parametrize("backend,fullgraph", [("aot_eager", True), ("inductor", False)])
def test_torch_compile(backend, fullgraph, monkeypatch):
    torch._dynamo.reset()
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2))
    replace_convs_with_boo(model)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    eager = model(x)
    eager.sum().backward()
    grads = [x.grad] + [p.grad for p in model.parameters()]
    x.grad = None
    model.zero_grad()
    rec = Recorder(monkeypatch)
    compiled = torch.compile(model, backend=backend, fullgraph=fullgraph)
    y = compiled(x)
    y.sum().backward()
    assert sorted(set(rec.modes())) == ["bwd", "fwd", "wrw"]
    assert miopen_error(y, eager) <= 1e-5
    for got, want in zip([x.grad] + [p.grad for p in model.parameters()], grads):
        assert miopen_error(got, want) <= 1e-5


# ----------------------------------------------------------------------------- the daemon
@pytest.fixture(scope="module")
def daemon_endpoint():
    d = Path(tempfile.mkdtemp(prefix="boo-ops-", dir="/tmp"))  # ipc paths must stay short
    endpoint = f"ipc://{d}/run/daemon.sock"
    cli = [sys.executable, "-m", "boo_daemon.cli"]
    proc = subprocess.run(cli + ["start", "--endpoint", endpoint, "--cache-dir", os.environ["BOO_CACHE_DIR"],
                                 "--workers", "1"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield endpoint
    subprocess.run(cli + ["stop", "--endpoint", endpoint], capture_output=True, timeout=60)
    import shutil

    shutil.rmtree(d, ignore_errors=True)


def test_daemon_execution_gives_the_same_results(daemon_endpoint, monkeypatch):
    from boo_shim.client import BooClient

    monkeypatch.setenv("BOO_ENDPOINT", daemon_endpoint)
    torch.manual_seed(7)
    conv = BooConv2d(3, 5, 3, padding=1)
    x = torch.randn(2, 3, 6, 7, requires_grad=True)

    def step(**env):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        x.grad = None
        conv.zero_grad()
        y = conv(x)
        y.backward(torch.ones_like(y))
        return [y.detach(), x.grad, conv.weight.grad, conv.bias.grad]

    local = step(BOO_EXECUTE="inprocess")
    with BooClient(daemon_endpoint) as c:
        before = c.stats()["calls"]
        remote = step(BOO_EXECUTE="daemon")
        after = c.stats()["calls"]
    for a, b in zip(local, remote):
        assert torch.equal(a, b)  # the same compiled kernels
    served = {name: v["calls"] - before.get(name, {}).get("calls", 0) for name, v in after.items()}
    assert sorted(name.split("_")[3] for name, n in served.items() if n > 0) == ["bwd", "fwd", "wrw"]
    assert ops.fallback_counts() == {}
