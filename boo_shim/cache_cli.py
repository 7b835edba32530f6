"""`boo-cache`: look after the on-disk kernel cache (list, summary, clear, prune)."""

from __future__ import annotations

import argparse
import re
import sys
import time

from .cache import KernelCache

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500M, 2G)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="boo-cache", description="Inspect and trim boo's kernel cache.")
    p.add_argument("--cache-dir", help="cache directory (default $BOO_CACHE_DIR or ~/.cache/boo)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="one line per entry: target, strategy, size, compile time, command")
    sub.add_parser("summary", help="entries and bytes per target, and the total")
    sub.add_parser("clear", help="remove every entry")
    pr = sub.add_parser("prune", help="remove least recently used entries down to a size bound")
    pr.add_argument("--max-size", type=parse_size, required=True, help="e.g. 500M")
    args = p.parse_args(argv)
    cache = KernelCache(args.cache_dir)

    if args.cmd == "list":
        entries = cache.entries()
        print(f"{'target':<28} {'strategy':<14} {'size':>10} {'compile':>8}  {'age':>6}  command")
        for e in entries:
            m = e.meta
            age = (time.time() - m["created"]) / 3600 if "created" in m else float("nan")
            print(f"{e.path.parent.name:<28} {m.get('strategy', '?'):<14} {human(cache.entry_size(e)):>10} "
                  f"{m.get('compile_seconds', float('nan')):>7.2f}s  {age:>5.1f}h  {m.get('command', '(broken entry)')}")
        print(f"{len(entries)} entries, {human(sum(cache.entry_size(e) for e in entries))} in {cache.root}")
    elif args.cmd == "summary":
        per: dict[str, list[int]] = {}
        for e in cache.entries():
            row = per.setdefault(e.path.parent.name, [0, 0])
            row[0] += 1
            row[1] += cache.entry_size(e)
        print(f"{'target':<28} {'entries':>8} {'size':>10}")
        for t, (n, b) in sorted(per.items()):
            print(f"{t:<28} {n:>8} {human(b):>10}")
        print(f"{'total':<28} {sum(n for n, _ in per.values()):>8} {human(sum(b for _, b in per.values())):>10}")
        print(f"cache: {cache.root}")
    elif args.cmd == "clear":
        print(f"removed {cache.clear()} entries from {cache.root}")
    elif args.cmd == "prune":
        removed = cache.prune(args.max_size)
        left = sum(cache.entry_size(e) for e in cache.entries())
        print(f"removed {len(removed)} entries; {human(left)} left (bound {human(args.max_size)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
