#!/usr/bin/env python3
"""What a `Kernel.run` costs beyond IREE's own invoke, per signature.

Times, in alternating blocks (best block median kept, as bench/cpu_vs_torch.py does):
- `invoke`: the VM call alone, on buffers imported once;
- `run`: `Kernel.run` as the driver, the daemon and the benchmarks call it (import of the
  inputs, the call, the result handed out);
- `run+copy`: `run` followed by a copy of the result, which is what `run` cost before results
  were handed out in place.

    .venv/bin/python bench/call_overhead.py ["<MIOpenDriver command>" ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from boo_shim.grammar import parse_command  # noqa: E402
from boo_shim.runtime import LoadedKernels, to_numpy  # noqa: E402
from cpu_vs_torch import median_ms  # noqa: E402  (this folder is on sys.path: a script here)

DEFAULT = [
    "conv -n 51 -c 832 -H 7 -W 7 -k 48 -y 1 -x 1 -p 0 -q 0 -u 1 -v 1 -l 1 -j 1 -m conv -g 1 -F 2",
    "convbfp16 -n 53 -c 35 -H 48 -W 32 -k 35 -y 1 -x 1 -p 0 -q 0 -u 1 -v 1 -l 1 -j 1 -m conv -g 1 -F 1 "
    "--in_layout NHWC --fil_layout NHWC --out_layout NHWC",
    "conv -n 1 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -p 0 -q 0 -u 1 -v 1 -l 1 -j 1 -m conv -g 1 -F 1",
]


def main(argv: list[str]) -> int:
    commands = argv or DEFAULT
    loaded = LoadedKernels()
    print(f"{'invoke ms':>10} {'run ms':>8} {'run+copy ms':>12} {'out MB':>7}  command")
    with tempfile.TemporaryDirectory(prefix="boo-overhead-") as cache:
        for line in commands:
            sig = parse_command(line).signatures[0]
            kernel = loaded.get(sig, "cpu", cache_dir=cache)
            args = [to_numpy(a) for a in sig.get_sample_conv_args(seed=0)]
            rt = kernel._dev.rt
            inputs, _held = kernel.arg_list(args)  # imported once, kept alive for the loop

            def invoke():
                kernel._ctx.invoke(kernel._fn, inputs, rt.VmVariantList(1))

            def run():
                return kernel.run(*args, check=False)

            def run_copy():
                return run().copy()

            fns = {"invoke": invoke, "run": run, "run+copy": run_copy}
            for fn in fns.values():  # warm up
                fn()
            best = {name: float("inf") for name in fns}
            for _ in range(5):  # interleaved: this VM's speed drifts within a second
                for name, fn in fns.items():
                    best[name] = min(best[name], median_ms(fn, 8, warmup=0))
            mb = run().nbytes / 1e6
            print(f"{best['invoke']:>10.3f} {best['run']:>8.3f} {best['run+copy']:>12.3f} {mb:>7.1f}  {line}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
