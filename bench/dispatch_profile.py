#!/usr/bin/env python3
"""Where boo's time goes: IREE's per-dispatch timings for a signature, next to torch's time.

For each MIOpenDriver line: the IR boo compiles (same strategy and flags as the cache), each
dispatch IREE forms from it dumped as a standalone benchmark (`--iree-hal-dump-executable-
benchmarks-to`), each timed with `iree-benchmark-module` (median real time, local-task, this
machine's threads). Then the sum, boo's end-to-end call and torch's call. Dispatches run in
isolation here (warm caches, no allocation), so their sum is a lower bound of the call.

    .venv/bin/python bench/dispatch_profile.py "conv -n 1 -c 144 -H 14 -W 14 -k 288 -y 3 -x 3 -p 1 -q 1" [...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from boo_shim.compile import _iree_compile, cache_key, emit_ir  # noqa: E402
from boo_shim.conv import ConvSignature  # noqa: E402
from boo_shim.grammar import parse_command  # noqa: E402
from boo_shim.runtime import LoadedKernels  # noqa: E402
from boo_shim.targets import parse_target  # noqa: E402
from cpu_vs_torch import median_ms  # noqa: E402  (this folder is on sys.path: a script here)

_UNITS = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def _benchmark_tool() -> str:
    tool = Path(sys.executable).parent / "iree-benchmark-module"
    if not tool.exists():
        raise SystemExit("iree-benchmark-module not found next to this python (pip install iree-base-runtime)")
    return str(tool)


def profile(sig: ConvSignature, work: Path) -> list[tuple[str, float]]:
    """[(dispatch description, median microseconds)] in dispatch order."""
    target = parse_target("cpu")
    text, _ = emit_ir(sig, "auto")
    _, flags = cache_key(sig, target, "auto", ())
    src = work / "kernel.mlir"
    src.write_text(text)
    dumps = work / "dispatches"
    subprocess.run([_iree_compile(), str(src), *flags, "-o", str(work / "kernel.vmfb"),
                    f"--iree-hal-dump-executable-benchmarks-to={dumps}"], check=True, capture_output=True)
    rows = []
    files = sorted(dumps.glob("*.mlir"), key=lambda p: int(re.search(r"dispatch_(\d+)", p.name).group(1)))
    for f in files:
        body = f.read_text()
        m = re.search(r"func\.func @\w*?_(dispatch_\d+_\w+?)\(", body)
        name = m.group(1) if m else f.stem
        vmfb = work / (f.stem + ".vmfb")
        # The same flags as the kernel: a dispatch calling a ukernel needs them to compile.
        built = subprocess.run([_iree_compile(), str(f), *flags, "-o", str(vmfb)], capture_output=True)
        if built.returncode != 0:
            rows.append((name + " (would not compile standalone)", float("nan")))
            continue
        out = subprocess.run([_benchmark_tool(), f"--module={vmfb}", "--device=local-task",
                              "--benchmark_repetitions=3", "--benchmark_min_time=0.2"],
                             capture_output=True, text=True).stdout
        med = re.search(r"real_time_median\s+([\d.]+)\s+(ns|us|ms|s)\b", out)
        rows.append((name, float(med.group(1)) * _UNITS[med.group(2)] if med else float("nan")))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("commands", nargs="+", help="MIOpenDriver command lines (quoted)")
    args = p.parse_args()
    loaded = LoadedKernels()
    with tempfile.TemporaryDirectory(prefix="boo-profile-") as tmp:
        for i, line in enumerate(args.commands):
            for j, sig in enumerate(parse_command(line).signatures):
                work = Path(tmp, f"{i}-{j}")
                work.mkdir()
                rows = profile(sig, work)
                argv = sig.get_sample_conv_args(seed=0)
                kernel = loaded.get(sig, "cpu", cache_dir=Path(tmp, "cache"))
                boo_ms = median_ms(lambda: kernel.run(*argv, check=False), 20)
                module = sig.get_nn_module()
                with torch.no_grad():
                    torch_ms = median_ms(lambda: module(*argv), 20)
                total = sum(us for _, us in rows if us == us)
                print(f"\n{sig.to_command()}")
                print(f"strategy {kernel.compiled.strategy}, {sig.flops / 1e6:.0f} MFLOP")
                print(f"  {'us':>8} {'share':>6} {'GFLOP/s':>8}  dispatch")
                arith = [name for name, _ in rows if re.search(r"matmul|conv|contract", name)]
                for name, us in rows:
                    share = us / total if total else float("nan")
                    # A rate only where one dispatch does all the arithmetic (not for phases).
                    rate = f"{sig.flops / us / 1e3:8.1f}" if arith == [name] else " " * 8
                    print(f"  {us:8.1f} {share:6.1%} {rate}  {name}")
                print(f"  {total:8.1f}  sum of dispatches (isolated)")
                print(f"  {boo_ms * 1e3:8.1f}  boo call, end to end")
                print(f"  {torch_ms * 1e3:8.1f}  torch call ({torch.get_num_threads()} threads)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
