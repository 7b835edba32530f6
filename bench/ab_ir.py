#!/usr/bin/env python3
"""A/B of the fast path's IR: a base git revision against the working tree, on this CPU.

For each command line, the IR (and flags) of `--base` (from a temporary git worktree) and of
the working tree are compiled, loaded side by side in this process on one IREE device, and
timed in alternating blocks; each side keeps its best block median. On this VM a kernel's
speed drifts by up to 2x within a second, so only interleaved timing separates a change from
the moment it was measured in.

    .venv/bin/python bench/ab_ir.py [--base HEAD] [--rounds 8] FILE_OR_COMMAND...
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cpu_vs_torch import median_ms  # noqa: E402  (this folder is on sys.path: a script here)
from boo_shim import lowering  # noqa: E402
from boo_shim.grammar import parse_command  # noqa: E402
from boo_shim.runtime import aligned, to_numpy  # noqa: E402
from boo_shim.targets import parse_target  # noqa: E402

# Run in a fresh interpreter with the base worktree first on sys.path.
_EMIT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from boo_shim import lowering
from boo_shim.grammar import parse_command
sig = parse_command(sys.argv[2]).signatures[0]
print(json.dumps([lowering.emit_mlir(sig), lowering.recommended_flags("cpu", sig)]))
"""


def lines(args: list[str]) -> list[str]:
    out = []
    for a in args:
        p = Path(a)
        texts = p.read_text().splitlines() if p.is_file() else [a]
        out += [t.strip() for t in texts if t.strip() and not t.lstrip().startswith("#")]
    return out


class Side:
    """One compiled variant, callable on fixed inputs."""

    def __init__(self, rt, device, hal, mlir: str, flags: list[str], func: str, arrays):
        import iree.compiler as ic

        t0 = time.perf_counter()
        vmfb = ic.compile_str(mlir, extra_args=parse_target("cpu").compile_flags() + flags)
        self.compile_s = time.perf_counter() - t0
        module = rt.VmModule.copy_buffer(device.instance, vmfb)
        self.ctx = rt.VmContext(device.instance, modules=[hal, module])
        self.fn = module.lookup_function(func)
        self.args = rt.VmVariantList(len(arrays))
        for a in arrays:
            buf = device.device.allocator.import_host_allocation(
                a, memory_type=rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE,
                allowed_usage=rt.BufferUsage.DEFAULT)
            self.args.push_ref(rt.HalBufferView(buf, a.shape, rt.array_interop.map_dtype_to_element_type(a.dtype)))
        self.rt = rt

    def __call__(self):
        self.ctx.invoke(self.fn, self.args, self.rt.VmVariantList(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("commands", nargs="+", help="MIOpenDriver command lines, or files of them")
    p.add_argument("--base", default="HEAD", help="git revision to compare against (default HEAD)")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--iters", type=int, default=6)
    args = p.parse_args()

    from boo_shim.runtime import LOADED

    device = LOADED.device(parse_target("cpu"))
    rt = device.rt
    ratios = []
    with tempfile.TemporaryDirectory(prefix="boo-ab-") as tmp:
        base = Path(tmp, "base")
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), args.base],
                       check=True, capture_output=True)
        try:
            print(f"{'base ms':>8} {'new ms':>8} {'new/base':>8} {'compile s':>11}  command")
            for line in lines(args.commands):
                sig = parse_command(line).signatures[0]
                old = json.loads(subprocess.run([sys.executable, "-c", _EMIT, str(base), line],
                                                check=True, capture_output=True, text=True).stdout)
                arrays = [aligned(np.ascontiguousarray(to_numpy(a))) for a in sig.get_sample_conv_args(seed=0)]
                a = Side(rt, device, device.hal_module, old[0], old[1], sig.func_name, arrays)
                b = Side(rt, device, device.hal_module, lowering.emit_mlir(sig),
                         lowering.recommended_flags("cpu", sig), sig.func_name, arrays)
                ta, tb = [], []
                for _ in range(args.rounds):
                    ta.append(median_ms(a, args.iters, warmup=1))
                    tb.append(median_ms(b, args.iters, warmup=1))
                ratios.append(min(tb) / min(ta))
                print(f"{min(ta):8.3f} {min(tb):8.3f} {ratios[-1]:8.2f} {a.compile_s:5.2f} {b.compile_s:5.2f}  {line}",
                      flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], capture_output=True)
    print(f"geomean new/base {math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f} over {len(ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
