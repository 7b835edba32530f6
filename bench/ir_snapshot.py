#!/usr/bin/env python3
"""Write the IR every strategy emits for a fixed set of signatures, to diff two revisions.

A refactoring of the IR-writing code (lowering, conv, grammar) must leave the IR byte for byte
as it was; the cache key changes with that code anyway, so only this diff shows that nothing
else did. Run it before and after, then `diff -r`:

    .venv/bin/python bench/ir_snapshot.py -o /tmp/ir_before
    ... change the code ...
    .venv/bin/python bench/ir_snapshot.py -o /tmp/ir_after && diff -r /tmp/ir_before /tmp/ir_after

One folder per signature (numbered, then `func_name`) holds `<strategy>-<target>.mlir` for the
strategies `fast`, `auto` and `export` (export for the CPU and the handwritten signatures only), and
`info.txt`: the command line, `choose_strategy`, the recommended compile flags per target and
what any strategy refused. `--no-export` skips the exporter (about a second a signature).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from boo_shim import compile as compile_  # noqa: E402
from boo_shim import lowering  # noqa: E402
from boo_shim.conv import ConvSignature  # noqa: E402
from boo_shim.grammar import parse_command  # noqa: E402
from boo_shim.errors import BooError  # noqa: E402

NHWC = "--in_layout NHWC --fil_layout NHWC --out_layout NHWC"
NDHWC = "--in_layout NDHWC --fil_layout NDHWC --out_layout NDHWC"
SIGNATURES_DIR = REPO.parent / "shared" / "signatures"

# Written to cover the lowering's branches: every direction, dtype and layout family, groups
# (depthwise, a few, many), strides, dilations, padding, transposed (with output padding), 1x1
# and larger filters, 1D/2D/3D, bias, the tiled-matmul and padded-width cases.
HANDWRITTEN = [
    "conv -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1 -F 1",
    "conv -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1 -F 1 -b 1",
    "conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -F 2",
    "conv -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -u 2 -v 2 -F 4",
    "conv -n 2 -c 4 -H 11 -W 10 -k 6 -y 5 -x 5 -p 2 -q 1 -u 2 -v 2 -F 2",
    "conv -n 2 -c 4 -H 11 -W 10 -k 6 -y 3 -x 3 -p 2 -q 2 -l 2 -j 2 -F 1",
    "conv -n 2 -c 8 -H 9 -W 9 -k 12 -y 3 -x 3 -p 1 -q 1 -g 4 -F 1",
    "conv -n 2 -c 8 -H 9 -W 9 -k 8 -y 3 -x 3 -p 1 -q 1 -g 8 -u 2 -v 2 -F 2",
    "conv -n 2 -c 4 -H 10 -W 9 -k 6 -y 3 -x 2 -p 0 -q 1 -u 3 -v 2 -l 2 -j 1 -F 2",
    f"convbfp16 -n 2 -c 8 -H 9 -W 7 -k 16 -y 3 -x 3 -p 1 -q 1 -F 1 -b 1 {NHWC}",
    f"convbfp16 -n 2 -c 8 -H 8 -W 8 -k 8 -y 1 -x 1 -u 2 -v 2 -F 2 {NHWC}",
    f"convfp16 -n 2 -c 4 -H 11 -W 10 -k 6 -y 5 -x 5 -p 2 -q 2 -u 2 -v 2 -F 4 {NHWC}",
    f"conv -n 2 -c 12 -H 9 -W 9 -k 12 -y 1 -x 3 -p 0 -q 1 -g 3 -F 4 {NHWC}",
    f"convbfp16 -n 2 -c 8 -H 9 -W 9 -k 8 -y 3 -x 3 -p 1 -q 1 -g 8 -F 4 {NHWC}",
    f"convbfp16 -n 2 -c 8 -H 9 -W 9 -k 8 -y 3 -x 3 -p 1 -q 1 -g 8 -F 1 {NHWC}",
    "conv -n 2 -c 4 -H 7 -W 7 -k 6 -y 3 -x 3 -p 1 -q 1 -F 1 --in_layout NHWC --fil_layout NCHW --out_layout NCHW",
    "conv -n 2 -c 4 -H 15 -k 6 -y 3 -p 1 -u 2 -F 2 --spatial_dim 1",
    "convfp16 -n 2 -c 4 -H 15 -k 6 -y 3 -p 1 -g 2 -F 4 --spatial_dim 1",
    "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 6 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -F 1 --spatial_dim 3",
    f"convbfp16 -n 1 -c 4 -! 5 -H 6 -W 6 -k 6 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -# 2 -u 2 -v 2 -F 2 --spatial_dim 3 {NDHWC}",
    f"conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -g 4 -F 1 --spatial_dim 3 {NDHWC}",
    "conv -n 1 -c 4 -! 5 -H 6 -W 6 -k 4 -@ 3 -y 3 -x 3 -$ 1 -p 1 -q 1 -g 2 -F 4 --spatial_dim 3",
    "conv -n 2 -c 6 -H 5 -W 5 -k 4 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -m trans -F 1 -b 1",
    f"convbfp16 -n 2 -c 6 -H 5 -W 4 -k 4 -y 4 -x 3 -p 1 -q 0 -u 2 -v 3 -g 2 -m trans -F 2 {NHWC}",
    "conv -n 2 -c 4 -H 5 -W 5 -k 3 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -Y 1 -X 1 -m trans -F 4",
    "conv -n 1 -c 2 -H 5 -W 5 -k 2 -y 3 -x 3 -l 3 -j 3 -Y 2 -X 2 -m trans -F 1",  # refused
    "conv -n 1 -c 260 -H 4 -W 4 -k 260 -y 3 -x 3 -p 1 -q 1 -g 130 -F 1",  # refused: too many groups
    "conv -n 2 -c 8 -H 9 -W 7 -k 32 -y 3 -x 3 -p 1 -q 1 -u 2 -v 1 -F 1",
    "conv -n 3 -c 48 -H 6 -W 5 -k 32 -y 3 -x 3 -p 1 -q 1 -F 4 " + NHWC,
    f"convbfp16 -n 2 -c 8 -H 5 -W 5 -k 35 -y 1 -x 1 -F 1 {NHWC}",
    "conv -n 2 -c 20 -H 6 -W 6 -k 8 -y 3 -x 3 -p 1 -q 1 -u 2 -v 2 -F 2",
    "conv -n 2 -c 3 -H 31 -W 31 -k 16 -y 11 -x 11 -p 2 -q 2 -u 4 -v 4 -F 4",
]


def real_lines(every: int = 37) -> list[str]:
    """Every `every`-th line of the shared real-world files, and of their 3D and grouped lines
    (which that stride would miss); none when the folder is absent."""
    out = []
    for path in sorted(SIGNATURES_DIR.glob("*.txt")) + sorted((SIGNATURES_DIR / "miopen_perf_models").glob("*.txt"))[:3]:
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        out += lines[::every]
        out += [ln for ln in lines if "NDHWC" in ln][::7]
        out += [ln for ln in lines if " -g 1 " not in ln and "--group_count 1 " not in ln][::5]
    return out


def signatures() -> list[tuple[str, ConvSignature]]:
    out = []
    for line in HANDWRITTEN + real_lines():
        out += [(line, sig) for sig in parse_command(line).signatures]
    return out


def _try(fn):
    try:
        return fn(), None
    except BooError as e:
        return None, f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - the exporter's own errors name source lines, which move
        return None, f"{type(e).__name__}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument("--no-export", action="store_true", help="skip the exporter's IR")
    args = p.parse_args(argv)
    sigs = signatures()
    for i, (line, sig) in enumerate(sigs):
        d = args.out / f"{i:02d}_{sig.func_name}"
        d.mkdir(parents=True, exist_ok=True)
        strategy, refused = _try(lambda: lowering.choose_strategy(sig))
        info = [f"command: {line}", f"choose_strategy: {strategy or refused}"]
        for target in ("cpu", "cuda"):
            info.append(f"recommended_flags {target}: {lowering.recommended_flags(target, sig)}")
            # The exporter ignores the target, and on real batch sizes takes seconds: the small
            # handwritten signatures cover what it reads of a signature.
            export = target == "cpu" and not args.no_export and line in HANDWRITTEN
            runs = ["fast", "auto"] + (["export"] if export else [])
            for run in runs:
                if run == "auto" and refused and not export:
                    continue  # auto would run the exporter
                got, err = _try(lambda: compile_.emit_ir(sig, run, target))
                if err:
                    info.append(f"{run}-{target}: {err}")
                    continue
                text, used = got
                (d / f"{run}-{target}.mlir").write_text(text)
                info.append(f"{run}-{target}: used {used}")
        (d / "info.txt").write_text("\n".join(info) + "\n")
        print(f"{i + 1}/{len(sigs)} {sig.func_name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
