"""`boo-report`: turn boo-driver CSVs into a table and plots people can look at.

    boo-driver --commands-file cmds.txt --backend iree --backend torch -t 1 --csv run.csv
    boo-report run.csv [more.csv ...] -o report/

Writes into the output directory:
    report.md               the table (markdown) and per-direction summary
    index.html              the same table and report.png, self-contained (image inlined)
    scatter.png             boo time vs native time per signature, log-log, with y = x
    ratio_by_direction.png  speedup (native / boo) per signature, grouped by direction
    report.png              both plots side by side

Rows from several CSVs are merged by (command, direction, dtype), so runs of different backends
(or machines, as long as the backend names differ) line up. Times are each backend's minimum.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import math
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Row", "load_rows", "write_report", "main"]

DIRECTIONS = ("fwd", "bwd", "wrw")
_DIR_COLORS = {"fwd": "#1f77b4", "bwd": "#ff7f0e", "wrw": "#2ca02c"}


@dataclass
class Row:
    command: str
    direction: str
    dtype: str
    flops: float
    min_us: dict[str, float] = field(default_factory=dict)  # backend -> min time
    verify: dict[str, str] = field(default_factory=dict)  # backend -> OK | FAILED | ERROR | ""
    error: dict[str, str] = field(default_factory=dict)  # backend -> error figure or message
    label: str = ""

    def speedup(self, boo: str, native: str) -> float | None:
        """native time / boo time: above 1, boo is faster."""
        b, n = self.min_us.get(boo), self.min_us.get(native)
        if not b or not n:
            return None
        return n / b


def _float(text: str | None) -> float | None:
    try:
        v = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) and v > 0 else None


def _label(command: str, direction: str) -> str:
    """The signature's func_name for this direction; the command itself if it does not parse."""
    try:
        from .grammar import parse_command

        for sig in parse_command(command).signatures:
            if sig.mode.value == direction:
                return sig.func_name
    except Exception:  # noqa: BLE001 - a label is best effort
        pass
    return command


def load_rows(paths: list[str | Path]) -> tuple[list[Row], list[str]]:
    """Read boo-driver CSVs -> (merged rows in first-seen order, backends in first-seen order)."""
    rows: dict[tuple[str, str, str], Row] = {}
    backends: list[str] = []
    for path in paths:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            missing = {"command", "direction"} - set(cols)
            if missing:
                raise ValueError(f"{path}: not a boo-driver CSV (no {', '.join(sorted(missing))} column)")
            found = [c[: -len("_min_us")] for c in cols if c.endswith("_min_us")]
            backends += [b for b in found if b not in backends]
            for rec in reader:
                k = (rec["command"], rec["direction"], rec.get("dtype", ""))
                row = rows.get(k)
                if row is None:
                    row = rows[k] = Row(rec["command"], rec["direction"], rec.get("dtype", ""),
                                        _float(rec.get("flops")) or 0.0)
                for b in found:
                    t = _float(rec.get(f"{b}_min_us"))
                    if t is not None:
                        row.min_us[b] = t
                    if rec.get(f"{b}_verify"):
                        row.verify[b] = rec[f"{b}_verify"]
                    if rec.get(f"{b}_error"):
                        row.error[b] = rec[f"{b}_error"]
    out = list(rows.values())
    for r in out:
        r.label = _label(r.command, r.direction)
    return out, backends


def _pick(backends: list[str], boo: str | None, native: str | None) -> tuple[str, str]:
    if len(backends) < 2:
        raise ValueError(f"need two backends to compare; the CSVs have {backends or 'none'}")
    boo = boo or ("iree" if "iree" in backends else backends[0])
    native = native or ("torch" if "torch" in backends and boo != "torch" else next(b for b in backends if b != boo))
    for b in (boo, native):
        if b not in backends:
            raise ValueError(f"backend {b!r} is not in the CSVs ({', '.join(backends)})")
    return boo, native


def _geomean(xs: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else float("nan")


def summarize(rows: list[Row], boo: str, native: str) -> list[tuple[str, int, float, int]]:
    """Per direction and overall: (name, n compared, geomean speedup, boo faster count)."""
    out = []
    for d in (*DIRECTIONS, "all"):
        s = [x for r in rows if d in ("all", r.direction) and (x := r.speedup(boo, native)) is not None]
        if s:
            out.append((d, len(s), _geomean(s), sum(x > 1 for x in s)))
    return out


# ----------------------------------------------------------------------------- table


def _fmt_us(v: float | None) -> str:
    return "" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")


def _table(rows: list[Row], backends: list[str], boo: str, native: str) -> tuple[list[str], list[list[str]]]:
    head = ["#", "signature", "dir", "dtype", "GFLOP"]
    head += [f"{b} min µs" for b in backends]
    head += [f"speedup ({native}/{boo})"]
    head += [f"{b} verify" for b in backends]
    body = []
    for i, r in enumerate(rows, 1):
        s = r.speedup(boo, native)
        cells = [str(i), r.label, r.direction, r.dtype, f"{r.flops / 1e9:.3g}"]
        cells += [_fmt_us(r.min_us.get(b)) for b in backends]
        cells += ["" if s is None else f"{s:.2f}x"]
        cells += [r.verify.get(b, "") + (f" ({r.error[b]})" if r.verify.get(b) != "OK" and r.error.get(b) else "")
                  for b in backends]
        body.append(cells)
    return head, body


def _markdown(head: list[str], body: list[list[str]]) -> str:
    esc = lambda c: c.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in cells) + " |" for cells in body]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plots


def _plots(rows: list[Row], boo: str, native: str, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(r, r.min_us[native], r.min_us[boo]) for r in rows if r.speedup(boo, native) is not None]

    def scatter(ax) -> None:
        for d in DIRECTIONS:
            sel = [(x, y) for r, x, y in pts if r.direction == d]
            if sel:
                ax.scatter([x for x, _ in sel], [y for _, y in sel], s=36, alpha=0.85,
                           color=_DIR_COLORS[d], edgecolor="black", linewidth=0.4, label=f"{d} ({len(sel)})")
        if pts:
            vals = [v for _, x, y in pts for v in (x, y)]
            lo, hi = min(vals) / 2, max(vals) * 2
            ax.plot([lo, hi], [lo, hi], color="gray", linestyle="--", linewidth=1, label="y = x")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_aspect("equal")
        ax.set_xlabel(f"{native} min time (µs)")
        ax.set_ylabel(f"{boo} (boo) min time (µs)")
        ax.set_title(f"per signature: below the line, {boo} is faster")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(loc="upper left", fontsize=8)

    def ratio(ax) -> None:
        groups = [(d, [r.speedup(boo, native) for r, _, _ in pts if r.direction == d]) for d in DIRECTIONS]
        groups = [(d, s) for d, s in groups if s]
        for i, (d, s) in enumerate(groups):
            if len(s) > 1:
                ax.boxplot([s], positions=[i], widths=0.5, showfliers=False,
                           medianprops={"color": "black"}, boxprops={"color": _DIR_COLORS[d]})
            jitter = [i + (k - (len(s) - 1) / 2) * min(0.08, 0.4 / max(1, len(s))) for k in range(len(s))]
            ax.scatter(jitter, s, s=30, color=_DIR_COLORS[d], edgecolor="black", linewidth=0.4, zorder=3)
            g = _geomean(s)
            ax.scatter([i + 0.3], [g], marker="<", s=40, color="black", zorder=3)
            ax.annotate(f"geomean\n{g:.2f}x", (i + 0.3, g), xytext=(6, 0), textcoords="offset points",
                        fontsize=8, va="center")
        ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)), [f"{d}\n(n={len(s)})" for d, s in groups])
        ax.set_xlim(-0.6, max(len(groups), 1) - 0.2)
        ax.set_ylabel(f"speedup = {native} time / {boo} time")
        ax.set_title(f"by direction: above 1, {boo} is faster")
        ax.grid(True, axis="y", which="both", alpha=0.25)

    written = []
    for name, draws, size in (
        ("scatter.png", [scatter], (5.5, 5.5)),
        ("ratio_by_direction.png", [ratio], (5.5, 5.0)),
        ("report.png", [scatter, ratio], (11.5, 5.2)),
    ):
        fig, axes = plt.subplots(1, len(draws), figsize=size, squeeze=False)
        for draw, ax in zip(draws, axes[0]):
            draw(ax)
        if name == "report.png":
            fig.suptitle(f"boo ({boo}) vs {native}: {len(pts)} signature-directions")
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


# ----------------------------------------------------------------------------- output


def write_report(paths: list[str | Path], out_dir: str | Path, boo: str | None = None,
                 native: str | None = None, inline_images: bool = True) -> dict[str, Path]:
    """Read the CSVs and write report.md, index.html and the PNGs into out_dir.

    index.html carries report.png inline (one file to mail or attach to CI) unless
    `inline_images` is False, when it links report.png beside it.
    """
    rows, backends = load_rows(paths)
    if not rows:
        raise ValueError("the CSVs have no rows")
    boo, native = _pick(backends, boo, native)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head, body = _table(rows, backends, boo, native)
    summary = summarize(rows, boo, native)
    sum_head = ["direction", "compared", f"geomean speedup ({native}/{boo})", f"{boo} faster"]
    sum_body = [[d, str(n), f"{g:.2f}x", f"{w}/{n}"] for d, n, g, w in summary]
    sources = ", ".join(Path(p).name for p in paths)

    images = _plots(rows, boo, native, out)
    md = out / "report.md"
    md.write_text(
        f"# boo report\n\nSources: {sources}. Times are each backend's minimum over the timed calls;"
        f" speedup = {native} time / {boo} time (above 1: boo faster).\n\n"
        + _markdown(sum_head, sum_body) + "\n\n" + _markdown(head, body) + "\n\n"
        + "![boo vs native](report.png)\n"
    )

    def html_table(h: list[str], b: list[list[str]]) -> str:
        th = "".join(f"<th>{html.escape(c)}</th>" for c in h)
        trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>\n" for cells in b)
        return f"<table><thead><tr>{th}</tr></thead><tbody>\n{trs}</tbody></table>"

    def img(p: Path) -> str:
        if not inline_images:
            return f'<img alt="{p.stem}" src="{p.name}">'
        data = base64.b64encode(p.read_bytes()).decode()
        return f'<img alt="{p.stem}" src="data:image/png;base64,{data}">'

    page = out / "index.html"
    page.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"><title>boo report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
td:nth-child(2) {{ text-align: left; font-family: monospace; font-size: 12px; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; margin: 0.5em; }}
</style></head><body>
<h1>boo report</h1>
<p>Sources: {html.escape(sources)}. Times are each backend's minimum over the timed calls;
speedup = {html.escape(native)} time / {html.escape(boo)} time (above 1: boo faster).</p>
{html_table(sum_head, sum_body)}
<div>{''.join(img(p) for p in images if p.name == 'report.png')}</div>
{html_table(head, body)}
</body></html>
""")
    return {"markdown": md, "html": page, **{p.stem: p for p in images}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="boo-report", description="Table and plots from boo-driver CSVs.")
    p.add_argument("csv", nargs="+", help="boo-driver --csv files (several backends/runs are merged)")
    p.add_argument("-o", "--output-dir", default="boo_report", help="directory for report.md, index.html, PNGs")
    p.add_argument("--boo", help="the boo backend column (default: iree)")
    p.add_argument("--native", help="the backend to compare against (default: torch, else the other one)")
    p.add_argument("--link-images", action="store_true",
                   help="index.html links report.png instead of carrying it inline")
    args = p.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("boo-report: needs matplotlib: pip install matplotlib", file=sys.stderr)
        return 2
    try:
        written = write_report(args.csv, args.output_dir, args.boo, args.native,
                               inline_images=not args.link_images)
    except (OSError, ValueError) as e:
        print(f"boo-report: {e}", file=sys.stderr)
        return 2
    rows, backends = load_rows(args.csv)
    boo, native = _pick(backends, args.boo, args.native)
    for d, n, g, w in summarize(rows, boo, native):
        print(f"  {d:<4} {n:>3} compared  geomean speedup {g:.2f}x  {boo} faster {w}/{n}")
    print(f"boo-report: {written['html']}  ({', '.join(p.name for p in written.values())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
