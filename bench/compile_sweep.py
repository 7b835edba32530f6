"""Seeded sweep for signatures the fast path cannot compile, and whether `auto` rescues them.

Draws random *valid* small signatures (1D/2D/3D; fp32/fp16/bf16; channels-first, channels-last
and mixed layouts; groups, depthwise; stride, padding, dilation; transposed with output padding;
bias; fwd/bwd/wrw), then for each one:

1. compiles it with `--strategy fast` into the sweep's own cache: OK, refused
   (`UnsupportedError`: the fast path declines it up front, `auto` exports it) or a compile
   failure (IREE's first error line);
2. for a compile failure, compiles it the way every caller does (`compile_signature`, strategy
   `auto`): rescued when that falls through to the exporter, and
   the result then verifies against the float64 reference (`numerics.verify`);
3. with `--verify`, runs and verifies the fast path's kernels too.

    .venv/bin/python bench/compile_sweep.py --seed 0 --count 80 --jobs 1 [--verify] [--report out.md]

Each signature is a pure function of (seed, index), so `--seed S --only I` replays one.
Exit status 1 if a compile failure was not rescued or a result did not verify.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boo_shim.conv import ConvSignature  # noqa: E402
from boo_shim.errors import SignatureError  # noqa: E402

DTYPES = ["fp32", "fp16", "bf16"]
MODES = ["fwd", "bwd", "wrw"]
_SP = {1: "H", 2: "HW", 3: "DHW"}


def _layout(rng: random.Random, nsp: int) -> str:
    sp = _SP[nsp]
    return rng.choice(["NC" + sp, "N" + sp + "C"])


def random_signature(seed: int, index: int) -> ConvSignature:
    """The `index`-th signature of sweep `seed`: small enough that a compile takes ~1 s."""
    rng = random.Random(f"{seed}:{index}")
    while True:
        nsp = rng.choices([1, 2, 3], weights=[1, 5, 2])[0]
        small = nsp == 3
        groups_kind = rng.choices(["one", "few", "depthwise"], weights=[6, 2, 2])[0]
        g = 1 if groups_kind == "one" else rng.choice([2, 3, 4]) if groups_kind == "few" else rng.choice([2, 4, 8, 16])
        # Multiples of 16 and 32 are common: the fast path's matmul tiles depend on them.
        widths = [1, 2, 3, 4, 8, 16, 16, 32, 32] if not small else [1, 2, 3, 4, 8, 16]
        cg = 1 if groups_kind == "depthwise" else rng.choice(widths)
        kg = 1 if groups_kind == "depthwise" else rng.choice(widths)
        c, k = cg * g, kg * g
        n = rng.choice([1, 2, 4])
        sizes = [rng.randint(2, 7) if small else rng.randint(3, 18) for _ in range(nsp)]
        ks = [rng.choice([1, 1, 2, 3, 3, 5]) for _ in range(nsp)]
        stride = [rng.choice([1, 1, 1, 2, 2, 3]) for _ in range(nsp)]
        dilation = [rng.choice([1, 1, 1, 2]) for _ in range(nsp)]
        padding = [rng.choice([0, 0, 1, 1, 2]) for _ in range(nsp)]
        transposed = rng.random() < 0.2
        out_pad = [rng.randrange(max(s, d)) if transposed and rng.random() < 0.3 else 0
                   for s, d in zip(stride, dilation)]
        mode = rng.choice(MODES)
        shared = _layout(rng, nsp)
        mixed = rng.random() < 0.15
        layouts = [_layout(rng, nsp) if mixed else shared for _ in range(3)]
        canon = "NC" + _SP[nsp]
        x_canon = [n, c, *sizes]
        # torch's kernel order: (out, in/groups, ...) for a conv, (in, out/groups, ...) transposed.
        w_canon = [c, kg, *ks] if transposed else [k, cg, *ks]
        to = lambda shape, lay: [shape[canon.index(ch)] for ch in lay]  # noqa: E731
        try:
            sig = ConvSignature(
                input_shape=to(x_canon, layouts[0]), kernel_shape=to(w_canon, layouts[1]),
                dtype=rng.choice(DTYPES), input_layout=layouts[0], kernel_layout=layouts[1],
                output_layout=layouts[2], bias=mode == "fwd" and rng.random() < 0.3, stride=stride,
                padding=padding, dilation=dilation, transposed=transposed, output_padding=out_pad,
                groups=g, mode=mode,
            )
        except SignatureError:
            continue
        if max(sig.result_shape) > 128:
            continue
        return sig


def _first_line(e: BaseException) -> str:
    return getattr(e, "first_line", None) or (str(e).splitlines() or [type(e).__name__])[0]


def check(seed: int, index: int, cache_dir: str, verify_all: bool) -> dict:
    """One signature through the fast path, then (if it failed to compile) through `auto`."""
    from boo_shim.compile import compile_signature
    from boo_shim.errors import CompileError, UnsupportedError
    from boo_shim.lowering import choose_strategy

    sig = random_signature(seed, index)
    row = {"index": index, "command": sig.to_command(), "func_name": sig.func_name, "mode": sig.mode.value,
           "fast": "", "ir": "", "error": "", "auto": "", "verify": ""}
    t0 = time.perf_counter()
    try:
        row["ir"] = choose_strategy(sig)
        compile_signature(sig, "cpu", cache=cache_dir, strategy="fast")
        row["fast"] = "ok"
    except UnsupportedError as e:
        row["fast"], row["error"] = "refused", _first_line(e)
    except CompileError as e:
        row["fast"], row["error"] = "compile-failed", _first_line(e)
    except Exception as e:  # noqa: BLE001 - a bug in the lowering is a finding, not a crash
        row["fast"], row["error"] = "crashed", f"{type(e).__name__}: {e}".splitlines()[0]
    row["fast_s"] = round(time.perf_counter() - t0, 2)
    if row["fast"] in ("compile-failed", "crashed") or (verify_all and row["fast"] == "ok"):
        strategy = "auto" if row["fast"] != "ok" else "fast"
        try:
            ck = compile_signature(sig, "cpu", cache=cache_dir, strategy=strategy)
            row["auto"] = ck.strategy if row["fast"] != "ok" else ""
            row["verify"] = _verify(sig, cache_dir, strategy)
        except Exception as e:  # noqa: BLE001
            row["auto"] = f"failed: {_first_line(e)}"
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _verify(sig: ConvSignature, cache_dir: str, strategy: str) -> str:
    from boo_shim.numerics import verify
    from boo_shim.runtime import get_kernel

    kernel = get_kernel(sig, "cpu", cache_dir=cache_dir, strategy=strategy)
    args = sig.get_sample_conv_args(seed=0)
    v = verify(sig, args, kernel(*args))
    return f"{'OK' if v.ok else 'FAILED'} {v.error:.2g}"


def _safe_check(*a) -> dict:
    try:
        return check(*a)
    except Exception:  # noqa: BLE001 - one broken row must not end the sweep
        return {"index": a[1], "command": "?", "fast": "crashed", "error": traceback.format_exc().splitlines()[-1],
                "auto": "", "verify": "", "mode": "?", "ir": "", "seconds": 0.0}


def family(row: dict) -> str:
    """A coarse class of a failing signature, for the summary."""
    cmd = row["command"].split()
    lay = cmd[cmd.index("--in_layout") + 1] if "--in_layout" in cmd else "NC.."
    strided = any(cmd[i] in ("-u", "-v", "-#") and cmd[i + 1] != "1" for i in range(len(cmd) - 1))
    return f"{row['mode']} {cmd[0]} {lay}{' strided' if strided else ''}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=80, help="signatures to draw (default 80)")
    p.add_argument("--jobs", type=int, default=1, help="compile processes (default 1)")
    p.add_argument("--only", type=int, nargs="*", help="replay these indices of the seed only")
    p.add_argument("--verify", action="store_true", help="also run and verify the fast path's kernels")
    p.add_argument("--cache-dir", help="cache for the auto compiles (default: a fresh temporary one)")
    p.add_argument("--report", help="also write the summary and failures as markdown here")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    from tqdm import tqdm

    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="boo-sweep-")
    indices = args.only if args.only else list(range(args.count))
    started = time.perf_counter()
    bar = tqdm(total=len(indices), desc=f"sweep seed {args.seed}", unit="sig", file=sys.stderr,
               disable=args.no_progress)
    rows = []
    if args.jobs <= 1:
        for i in indices:
            rows.append(_safe_check(args.seed, i, cache_dir, args.verify))
            bar.update()
    else:
        with cf.ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futs = [pool.submit(_safe_check, args.seed, i, cache_dir, args.verify) for i in indices]
            for f in cf.as_completed(futs):
                rows.append(f.result())
                bar.update()
    bar.close()
    rows.sort(key=lambda r: r["index"])
    wall = time.perf_counter() - started

    out: list[str] = []
    counts = Counter(r["fast"] for r in rows)
    failed = [r for r in rows if r["fast"] in ("compile-failed", "crashed")]
    rescued = [r for r in failed if r["auto"] == "export" and r["verify"].startswith("OK")]
    bad_verify = [r for r in rows if r["verify"].startswith("FAILED")]
    out.append(f"seed {args.seed}, {len(rows)} signatures, jobs {args.jobs}, {wall:.0f} s")
    out.append("")
    out.append("| fast path | signatures |")
    out.append("| --- | ---: |")
    for k in ("ok", "refused", "compile-failed", "crashed"):
        out.append(f"| {k} | {counts.get(k, 0)} |")
    out.append(f"| compile-failed/crashed rescued by auto (export, verified) | {len(rescued)} of {len(failed)} |")
    if args.verify:
        out.append(f"| results that did not verify | {len(bad_verify)} |")
    if failed:
        out.append("")
        out.append("| # | class | fast IR | IREE's first error line | auto | verify | command |")
        out.append("| ---: | --- | --- | --- | --- | --- | --- |")
        for r in failed:
            err = r["error"].replace("|", "\\|")
            out.append(f"| {r['index']} | {family(r)} | {r['ir']} | {err[:110]} | {r['auto']} | {r['verify']} | "
                       f"`{r['command']}` |")
        by_error = Counter(r["error"].split("error:")[-1].strip()[:70] for r in failed)
        out.append("")
        out.append("| error | count |")
        out.append("| --- | ---: |")
        for e, n in by_error.most_common():
            out.append(f"| {e.replace('|', chr(92) + '|')} | {n} |")
    if bad_verify:
        out.append("")
        out.append("did not verify:")
        out.extend(f"- {r['index']} {r['verify']} `{r['command']}`" for r in bad_verify)
    text = "\n".join(out)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 1 if (len(rescued) < len(failed) or bad_verify) else 0


if __name__ == "__main__":
    sys.exit(main())
