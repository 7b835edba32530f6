"""native/tests/mixed_app.c: convolutions mixed with batch norm, activations, pooling, OpTensor and a
conv + bias + RELU fusion plan.

Without the shim everything runs on the reference libMIOpen.so.1; the non-convolution results are checked
against torch (float64).  With the shim (LD_PRELOAD, a real daemon, BOO_FALLBACK=native) the
convolutions go to boo and everything else to the reference lib behind it: the non-convolution results
must be bit-identical, the results downstream of boo convolutions within MIOpen's fp32 tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from native_harness import run_program

torch = pytest.importorskip("torch")
F = torch.nn.functional


def load(path):
    """{name: (kind, float64 array in logical N,C,H,W order)} from mixed_app --out."""
    out = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        name, kind, nd = parts[0], parts[1], int(parts[2])
        lens = [int(v) for v in parts[3:3 + nd]]
        vals = np.array([float.fromhex(v) for v in parts[3 + nd:]], dtype=np.float64).reshape(lens)
        out[name] = (kind, vals)
    return out


def run_mixed(tree, path, **kw):
    p = run_program(tree, "mixed_app", ["--out", path], **kw)
    assert p.returncode == 0 and "mixed_app: ok" in p.stdout, p.stdout + p.stderr
    return load(path)


def err(a, b):
    scale = max(np.abs(a).max(), np.abs(b).max())
    return float(np.sqrt(np.mean((a - b) ** 2)) / scale) if scale > 0 else float(np.sqrt(np.mean((a - b) ** 2)))


def test_reference_lib_non_conv_ops_match_torch(native_tree, tmp_path):
    t = {k: torch.from_numpy(v) for k, (_, v) in run_mixed(native_tree, tmp_path / "ref.txt").items()}
    a, h = t["a"], t["h"]
    bn = (a - t["bn_mean"]) / torch.sqrt(t["bn_var"] + 1e-5) * t["bn_scale"] + t["bn_bias"]
    fused = F.relu(F.conv2d(a, t["fusion_w"], padding=1) + t["fusion_b"])
    expect = {  # name: (torch float64 result, dtype it was rounded to)
        "relu": (F.relu(a), torch.float32),
        "leakyrelu": (F.leaky_relu(a, 0.1), torch.float32),
        "tanh": (torch.tanh(a), torch.float32),
        "logistic": (torch.sigmoid(a), torch.float32),
        "passthru_blend": (0.5 * a + 2.0 * t["prev"], torch.float32),
        "maxpool_k2s2": (F.max_pool2d(a, 2, 2), torch.float32),
        "avgpool_k3s2p1": (F.avg_pool2d(a, 3, 2, 1, count_include_pad=False), torch.float32),
        "avgincl_k3s2p1": (F.avg_pool2d(a, 3, 2, 1, count_include_pad=True), torch.float32),
        "batchnorm": (bn, torch.float32),
        "op_add_bcast": (a + t["bch"], torch.float32),
        "op_mul": (a * t["bfull"], torch.float32),
        "op_max_scaled": (torch.maximum(2 * a, 0.5 * t["bfull"]), torch.float32),
        "op_min_beta1": (torch.minimum(a, t["bch"]) + t["cprev"], torch.float32),
        "fp16_relu": (F.relu(h), torch.float16),
        "fp16_op_add_bcast": (h + t["hb"], torch.float16),
        "fusion_conv_bias_relu": (fused, torch.float32),
    }
    for name, (want, dt) in expect.items():
        got = t[name]
        assert got.shape == want.shape, name
        # computed in float64 and rounded once: the nearest value of the dtype (up to libm's last bit)
        rounded = want.to(dt).to(torch.float64)
        tol = 1e-7 if dt == torch.float32 else 1e-3
        assert torch.allclose(got, rounded, rtol=tol, atol=tol), f"{name}: max diff {(got - rounded).abs().max()}"


def test_mixed_program_under_shim(native_tree, boo_daemon, tmp_path):
    ref = run_mixed(native_tree, tmp_path / "ref.txt")
    shim = run_mixed(native_tree, tmp_path / "shim.txt", shim=True, endpoint=boo_daemon,
                     env_extra={"BOO_FALLBACK": "native", "BOO_VERBOSE": "1"})
    assert ref.keys() == shim.keys()
    kinds = {k for k, _ in ref.values()}
    assert kinds == {"input", "exact", "conv"}
    for name, (kind, a) in ref.items():
        b = shim[name][1]
        assert a.shape == b.shape, name
        if kind == "conv":
            assert err(b, a) <= 1e-5, f"{name}: error {err(b, a):.3g}"
        else:
            assert np.array_equal(a, b), f"{name} ({kind}) differs under the shim"


def test_mixed_program_convs_reach_boo(native_tree, boo_daemon, tmp_path):
    """With BOO_FALLBACK=error the convolutions must be served by boo and the rest by the native lib."""
    p = run_program(native_tree, "mixed_app", shim=True, endpoint=boo_daemon, env_extra={"BOO_FALLBACK": "error"})
    assert p.returncode == 0 and "mixed_app: ok" in p.stdout, p.stdout + p.stderr
