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


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def _describe(cache: KernelCache, e) -> str:
    """One `list` line; any meta.json (a broken entry, a failure record, hand-edited fields of
    the wrong type) prints rather than crashes the listing."""
    m = e.meta if isinstance(e.meta, dict) else {"broken": True}
    created = _num(m.get("created"))
    age = (time.time() - created) / 3600
    try:
        size = human(cache.entry_size(e))
    except OSError:
        size = "?"
    command = m.get("command") if isinstance(m.get("command"), str) else None
    if m.get("broken"):
        command = "(broken entry: rebuilt on next use)"
    elif m.get("failed"):
        command = f"(compile failed) {command or ''}"
    return (f"{e.path.parent.name:<28} {str(m.get('strategy', '?'))[:14]:<14} {size:>10} "
            f"{_num(m.get('compile_seconds')):>7.2f}s  {age:>5.1f}h  {command or '(no command recorded)'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="boo-cache", description="Inspect and trim boo's kernel cache.")
    p.add_argument("--cache-dir", help="cache directory (default $BOO_CACHE_DIR or ~/.cache/boo)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="one line per entry: target, strategy, size, compile time, command")
    sub.add_parser("summary", help="entries and bytes per target, and the total")
    sub.add_parser("clear", help="remove every entry, remembered compile failures included")
    pr = sub.add_parser("prune", help="remove least recently used entries down to a size bound")
    pr.add_argument("--max-size", type=parse_size, required=True, help="e.g. 500M")
    args = p.parse_args(argv)
    cache = KernelCache(args.cache_dir)

    if args.cmd == "list":
        entries = cache.entries()
        print(f"{'target':<28} {'strategy':<14} {'size':>10} {'compile':>8}  {'age':>6}  command")
        for e in entries:
            print(_describe(cache, e))
            if isinstance(e.meta, dict) and e.meta.get("failed"):
                print(f"{'':<28} {'':<14} why: ({e.meta.get('requested_strategy', '?')}) "
                      f"{e.meta.get('first_line') or e.meta.get('error', '?')}")
        failed = sum(1 for e in entries if isinstance(e.meta, dict) and e.meta.get("failed"))
        print(f"{len(entries)} entries ({failed} failed), {human(sum(cache.entry_size(e) for e in entries))} "
              f"in {cache.root}")
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
        print(f"removed {cache.clear()} entries (and their lock files) from {cache.root}")
    elif args.cmd == "prune":
        removed = cache.prune(args.max_size)
        left = sum(cache.entry_size(e) for e in cache.entries())
        print(f"removed {len(removed)} entries; {human(left)} left (bound {human(args.max_size)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
