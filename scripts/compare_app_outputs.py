#!/usr/bin/env python3
"""Compare two conv_app --out directories (reference library vs boo shim) with MIOpen's metric."""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from boo_shim.numerics import miopen_error

DTYPES = {"float32": np.float32, "float": np.float32, "fp32": np.float32,
          "float16": np.float16, "half": np.float16, "fp16": np.float16}


def load(d: Path, name: str, meta: dict) -> torch.Tensor:
    info = meta[name]
    raw = np.fromfile(d / name, dtype=np.uint16 if "bf" in info["dtype"].lower() else DTYPES[info["dtype"].lower()])
    if raw.dtype == np.uint16:  # bf16: the high half of a float32
        raw = (raw.astype(np.uint32) << 16).view(np.float32)
    return torch.from_numpy(raw.astype(np.float64))


def main(ref_dir: str, boo_dir: str) -> int:
    ref, boo = Path(ref_dir), Path(boo_dir)
    meta = json.loads((ref / "meta.json").read_text())
    meta = meta.get("files", meta)
    worst = 0
    for name in ("y.bin", "dx.bin", "dw.bin"):
        if name in meta and (boo / name).exists():
            err = miopen_error(load(boo, name, meta), load(ref, name, meta))
            worst = max(worst, err)
            print(f"    {name:<7} {meta[name]['dtype']:<9} shape={meta[name].get('shape')} "
                  f"error vs reference library = {err:.3g}")
    return 0 if worst < 2e-2 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
