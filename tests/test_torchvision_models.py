"""Real models nobody here wrote (torchvision 0.28.0, random init) with every convolution on
boo: one training step's outputs and gradients against float64, with the driver's metric.

Inputs are small so that the whole file compiles 130 kernels (4 minutes cold on this 2-core
machine while shared, 2m17s of CPU; the kernel cache makes reruns cheap). MobileNetV2 runs a shortened block list (its
own `inverted_residual_setting` argument): stem, a t=1 block, two t=6 blocks (stride 2, then a
residual one) and the 1x1 head, which keeps depthwise, 1x1 and strided convs while halving its
compiles.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from _torchvision_import import import_torchvision
from boo_shim import ops
from boo_shim.modeling import replace_convs_with_boo
from boo_shim.numerics import TOLERANCES, miopen_error
from boo_shim.ops import boo_conv

try:
    tv = import_torchvision()
except ImportError:  # the `test` extra pins it; a bare install may lack it
    tv = None
pytestmark = pytest.mark.skipif(tv is None, reason="torchvision is not installed (pip install -e .[test])")

F32_TOL = TOLERANCES[torch.float32]
BF16_TOL = TOLERANCES[torch.bfloat16]

MODELS = {
    "resnet18": (lambda: tv.models.resnet18(num_classes=10), (2, 3, 64, 64)),
    "mobilenet_v2": (lambda: tv.models.mobilenet_v2(num_classes=10, width_mult=0.25, dropout=0.0,
                                                    inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2]]),
                     (2, 3, 32, 32)),
    "r3d_18": (lambda: tv.models.video.r3d_18(num_classes=10), (2, 3, 4, 32, 32)),
}


def _convs(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]


def train_step(model, x, autocast=False):
    """Forward and backward of one training step: (output, {name: grad}, input grad)."""
    model.train()
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        y = model(x)
    dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    (y.double() * dy).sum().backward()
    return y.detach(), {n: p.grad for n, p in model.named_parameters()}, x.grad


def grad_vector_error(got: dict, ref: dict) -> float:
    """MIOpen's metric over the whole gradient of the step: a per-tensor ratio is meaningless
    for tensors whose true gradient is ~0 (a BN bias ahead of a train-mode BN), where fp32 torch
    itself is off by 50%."""
    names = sorted(ref)
    return miopen_error(torch.cat([got[n].flatten().double() for n in names]),
                        torch.cat([ref[n].flatten().double() for n in names]))


def _setup(name):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    ref = make()
    boo = replace_convs_with_boo(copy.deepcopy(ref))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    convs = _convs(boo)
    assert convs and all(type(m).__name__.startswith("Boo") for m in convs), "every conv is boo's"
    return ref, boo, x


@pytest.mark.parametrize("name", list(MODELS))
def test_fp32_training_step_matches_torch(name):
    ops.reset_fallback_warnings()
    ref, boo, x = _setup(name)
    y, grads, dx = train_step(boo, x)
    assert ops.fallback_counts() == {}, "boo ran every convolution"
    y32, g32, dx32 = train_step(ref, x)
    y64, g64, dx64 = train_step(copy.deepcopy(ref).double(), x.double())
    assert miopen_error(y, y64) <= F32_TOL
    assert miopen_error(y, y32) <= F32_TOL
    assert miopen_error(dx, dx64) <= F32_TOL
    assert grad_vector_error(grads, g64) <= F32_TOL
    # torch's fp32 is itself up to ~4e-5 from float64 on r3d_18's 3D convs: boo agrees with it
    # within the tolerance plus torch's own error.
    assert grad_vector_error(grads, g32) <= F32_TOL + grad_vector_error(g32, g64)
    conv_weights = [n + ".weight" for n, m in boo.named_modules() if isinstance(m, nn.modules.conv._ConvNd)]
    for n in conv_weights:
        assert miopen_error(grads[n], g64[n]) <= F32_TOL, n


def test_bf16_autocast_training_step_against_float64():
    """A bf16 ResNet-18 step: its output and gradient within the driver's bf16 tolerance of the
    float64 model's, and every boo call of it (on the activations it really saw) within that
    tolerance of float64 on the same inputs."""
    ops.reset_fallback_warnings()
    ref, boo, x = _setup("resnet18")
    seen = []

    def capture(module, args, out):
        record = {"module": module, "x": args[0].detach(), "y": out.detach()}
        out.register_hook(lambda g: record.__setitem__("dy", g.detach()))
        seen.append(record)

    for m in _convs(boo):
        m.register_forward_hook(capture)
    y, grads, _ = train_step(boo, x, autocast=True)
    assert y.dtype == torch.bfloat16 and len(seen) == len(_convs(boo))
    assert ops.fallback_counts() == {}
    y64, g64, _ = train_step(copy.deepcopy(ref).double(), x.double())
    assert miopen_error(y, y64) <= BF16_TOL
    assert grad_vector_error(grads, g64) <= BF16_TOL

    names = {id(m): n for n, m in boo.named_modules()}
    for r in seen:
        m = r["module"]
        kw = dict(stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups)
        xb = r["x"].to(torch.bfloat16).requires_grad_()
        wb = m.weight.detach().to(torch.bfloat16).requires_grad_()
        again = boo_conv(xb, wb, **kw)
        assert torch.equal(again, r["y"])  # the same call as the model's
        again.backward(r["dy"])
        x64 = xb.detach().double().requires_grad_()
        w64 = wb.detach().double().requires_grad_()
        y64 = nn.functional.conv2d(x64, w64, **kw)
        y64.backward(r["dy"].double())
        where = names[id(m)]
        assert miopen_error(again, y64) <= BF16_TOL, f"{where} fwd"
        assert miopen_error(xb.grad, x64.grad) <= BF16_TOL, f"{where} bwd"
        assert miopen_error(wb.grad, w64.grad) <= BF16_TOL, f"{where} wrw"
        assert torch.equal(grads[where + ".weight"], wb.grad.float())  # what the step applied
