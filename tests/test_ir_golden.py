"""Golden IR per strategy: the exact MLIR each strategy writes for a few signatures.

The cache key changes whenever the IR-writing code changes, so nothing else notices when a
refactoring changes the IR by accident; these files do. A deliberate change regenerates them:

    BOO_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_ir_golden.py

and the diff of tests/golden/ir/ goes into the same commit, for review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from boo_shim.compile import emit_ir
from boo_shim.grammar import parse_command

GOLDEN = Path(__file__).resolve().parent / "golden" / "ir"
NHWC = "--in_layout NHWC --fil_layout NHWC --out_layout NHWC"

# (command line, strategies): every direction, fp32 NCHW and bf16 NHWC, groups, stride and
# dilation, a transposed and a 3D conv; the exporter only on small ones (a second each)
CASES = [
    ("conv -n 2 -c 8 -H 10 -W 10 -k 16 -y 3 -x 3 -p 1 -q 1 -F 1", ("fast", "export")),
    ("conv -n 2 -c 8 -H 10 -W 10 -k 16 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -F 2", ("fast", "export")),
    ("conv -n 2 -c 8 -H 10 -W 10 -k 16 -y 3 -x 3 -p 1 -q 1 -l 2 -j 2 -F 4", ("fast", "export")),
    (f"convbfp16 -n 4 -c 32 -H 7 -W 7 -k 64 -y 1 -x 1 -F 1 {NHWC}", ("fast",)),
    (f"convbfp16 -n 2 -c 16 -H 9 -W 9 -k 16 -y 3 -x 3 -p 1 -q 1 -g 4 -F 2 {NHWC}", ("fast",)),
    (f"convbfp16 -n 2 -c 16 -H 9 -W 9 -k 32 -y 3 -x 3 -p 1 -q 1 -F 4 {NHWC}", ("fast",)),
    ("conv -n 1 -c 4 -H 5 -W 5 -k 6 -y 3 -x 3 -u 2 -v 2 -p 1 -q 1 -m trans -F 1", ("fast",)),
    ("conv -n 1 -c 3 -! 4 -H 6 -W 6 -k 8 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -_ 3 -F 1", ("fast",)),
]


def _params():
    for line, strategies in CASES:
        (sig,) = parse_command(line).signatures
        for strategy in strategies:
            yield pytest.param(sig, strategy, id=f"{strategy}-{sig.func_name}")


@pytest.mark.parametrize("sig, strategy", list(_params()))
def test_ir_is_the_golden_ir(sig, strategy):
    text, used = emit_ir(sig, strategy, "cpu")
    assert used == strategy or strategy == "fast"
    path = GOLDEN / f"{sig.func_name}.{strategy}.mlir"
    if os.environ.get("BOO_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden IR {path.name}: run with BOO_UPDATE_GOLDEN=1 and review the new file"
    assert text == path.read_text(), (f"{strategy} IR for {sig.to_command()} differs from {path.name}; if that "
                                      "is intended, regenerate with BOO_UPDATE_GOLDEN=1 and commit the diff")
