"""The daemon's counters and the stats report built from them (`boo-daemon status`, the `stats`
op, the Prometheus scrape).

Kept apart from the server because every thread bumps them (the main loop, the call pool, the
compile pool's callbacks): one lock guards them all, and the report is read under it so that its
figures agree with each other.
"""

from __future__ import annotations

import functools
import threading

from boo_shim import __version__ as BOO_VERSION
from boo_shim import protocol as P

OTHER_SIGNATURES = "(other signatures)"


class DaemonStats:
    def __init__(self, max_signatures: int):
        self.lock = threading.Lock()
        self.max_signatures = max_signatures
        self.requests = 0
        self.errors = 0
        self.bad_messages = 0
        self.kernel_hits = 0  # signature already compiled/known in this daemon
        self.disk_hits = 0  # found in the disk cache
        self.cache_misses = 0  # compile jobs started
        self.compiles = 0  # jobs that actually ran iree-compile
        self.compile_seconds = 0.0
        self.compile_failures = 0
        self.single_flight_joins = 0
        # func_name -> [calls, seconds, errors, command]; past max_signatures names, calls are
        # summed under OTHER_SIGNATURES (a table per signature ever seen grows without bound).
        self.calls: dict[str, list] = {}
        self.ops: dict[str, int] = {}

    def call(self, sig, seconds: float, ok: bool) -> None:
        name = func_name(sig)
        with self.lock:
            ent = self.calls.get(name)
            if ent is None:
                if len(self.calls) >= self.max_signatures:
                    name = OTHER_SIGNATURES
                ent = self.calls.setdefault(name, [0, 0.0, 0, None])
            if ok:
                ent[0] += 1
                ent[1] += seconds
            else:
                ent[2] += 1

    def snapshot(self, head: dict, live: dict) -> dict:
        """The stats report: `head` (who the daemon is), the counters, then `live` (what the
        daemon holds right now), the process's RSS and the versions."""
        with self.lock:
            calls = {
                name: {"calls": c, "total_s": round(t, 6), "mean_ms": round(t / c * 1e3, 4) if c else None,
                       "errors": e}
                for name, (c, t, e, _) in sorted(self.calls.items())
            }
            out = {
                **head, "requests": self.requests, "errors": self.errors,
                "bad_messages": self.bad_messages, "kernel_hits": self.kernel_hits, "disk_hits": self.disk_hits,
                "cache_hits": self.kernel_hits + self.disk_hits, "cache_misses": self.cache_misses,
                "compiles": self.compiles, "compile_seconds": round(self.compile_seconds, 4),
                "compile_failures": self.compile_failures, "single_flight_joins": self.single_flight_joins,
                "ops": dict(self.ops), "calls": calls,
            }
        out.update(live)
        out.update(rss_bytes=rss_bytes(), boo=BOO_VERSION, protocol=P.PROTOCOL_VERSION)
        return out


@functools.lru_cache(maxsize=4096)
def func_name(sig) -> str:
    return sig.func_name


def rss_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
