"""Verification: boo's result against a float64 reference, with MIOpen's error metric."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import dtypes
from .conv import ConvSignature

__all__ = ["TOLERANCES", "Verdict", "miopen_error", "reference", "verify"]

# Per-dtype bound on miopen_error (why these bounds: `dtypes`).
TOLERANCES = {d.torch: d.tolerance for d in dtypes.ALL}


def miopen_error(result: torch.Tensor, ref: torch.Tensor) -> float:
    """MIOpen's verification metric: RMS of the difference over the largest magnitude."""
    a, b = result.detach().to(torch.float64), ref.detach().to(torch.float64)
    scale = max(float(a.abs().max()) if a.numel() else 0.0, float(b.abs().max()) if b.numel() else 0.0)
    if scale == 0.0:
        return 0.0
    rms = float((a - b).pow(2).mean().sqrt())
    if rms != rms:  # NaN anywhere is a failure, never a pass
        return float("inf")
    return rms / scale


def reference(sig: ConvSignature, args: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The float64 CPU result for `args` (given in the signature's dtype)."""
    return sig.get_nn_module()(*[a.detach().cpu().to(torch.float64) for a in args])


@dataclass(frozen=True)
class Verdict:
    ok: bool
    error: float
    tolerance: float

    def line(self, sig: ConvSignature) -> str:
        """MIOpenDriver's words: `Forward Convolution Verifies OK on CPU reference (err=...)`."""
        word = "Verifies OK" if self.ok else "FAILED"
        return f"{sig.mode.title} {word} on CPU reference ({self.error:.3g} < {self.tolerance:g})" if self.ok \
            else f"{sig.mode.title} {word}: {self.error:.3g} > {self.tolerance:g}"


def verify(sig: ConvSignature, args: tuple[torch.Tensor, ...], result: torch.Tensor) -> Verdict:
    tol = TOLERANCES[sig.dtype]
    err = miopen_error(result.cpu(), reference(sig, args))
    return Verdict(err <= tol, err, tol)
