"""Compiles for the daemon: the process pool, single flight, and what is known to be compiled.

A compile takes seconds to minutes and many clients ask for the same signature at once, so each
signature gets one compile job however many ask (single flight), and what is known compiled or
loaded is remembered so that later requests skip the disk cache and the pool. One lock guards
these tables; every one of them is bounded, since their keys come from peers.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
from collections import OrderedDict

from boo_shim import protocol as P
from boo_shim.cache import KernelCache
from boo_shim.errors import MIOpenStatus

from . import logs, worker
from .stats import DaemonStats


class CompileService:
    def __init__(self, target, cache_dir: str, workers: int, stats: DaemonStats, *,
                 max_pending_compiles: int, max_signatures: int):
        self.target = target
        self.cache_dir = cache_dir
        self.workers = workers
        self.stats = stats
        self.max_pending_compiles = max_pending_compiles
        self.max_signatures = max_signatures
        self._lock = threading.Lock()  # guards the compile bookkeeping below
        self._compiling: dict[tuple, cf.Future] = {}
        # LRU-bounded (max_signatures): signatures known to be in the disk cache / loaded once.
        self._compiled: OrderedDict[tuple, dict] = OrderedDict()
        self._ready: OrderedDict[tuple, None] = OrderedDict()
        self._pool: cf.ProcessPoolExecutor | None = None

    def start(self, prewarm: bool) -> None:
        self._pool = self._new_pool()
        if prewarm:
            for _ in range(self.workers):
                self._pool.submit(worker.ping)
        # Prime what every cache lookup needs (compiler version, IR code hash).
        from boo_shim.compile import compiler_version, _ir_code_hash

        compiler_version()
        _ir_code_hash()

    def shutdown(self, wait: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        # Workers get our pid so that they exit when we die, even by SIGKILL (see worker.py).
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=worker.init_worker, initargs=(os.getpid(),))

    def in_flight(self) -> int:
        return len(self._compiling)

    def _sig_key(self, sig, strategy: str) -> tuple:
        return (sig, strategy)

    def _in_disk_cache(self, sig, strategy: str) -> bool:
        from boo_shim.compile import cache_key

        key, _ = cache_key(sig, self.target, strategy, ())
        return KernelCache(self.cache_dir).lookup(self.target.cache_id, key) is not None

    def is_ready(self, sig, strategy: str) -> bool:
        """Loaded once already: requests for it need neither the disk cache nor the pool."""
        key = self._sig_key(sig, strategy)
        with self._lock:
            return key in self._ready

    def mark_ready(self, sig, strategy: str) -> None:
        with self._lock:
            self._remember(self._ready, self._sig_key(sig, strategy), None)

    def compiled(self, sig, strategy: str) -> tuple[cf.Future, bool]:
        """(future of the compile info for `sig`, joined an in-flight compile); one compile job per
        signature however many ask."""
        key = self._sig_key(sig, strategy)
        with self._lock:
            fut = self._compiling.get(key)
            if fut is not None:
                with self.stats.lock:
                    self.stats.single_flight_joins += 1
                return fut, True
            info = self._compiled.get(key)
            if info is not None:
                self._compiled.move_to_end(key)
                with self.stats.lock:
                    self.stats.kernel_hits += 1
                return _done({**info, "cache_hit": True, "compile_seconds": 0.0}), False
            if self._in_disk_cache(sig, strategy):
                info = {"cache_hit": True, "compile_seconds": 0.0, "source": "disk"}
                self._remember(self._compiled, key, info)
                with self.stats.lock:
                    self.stats.disk_hits += 1
                return _done(info), False
            if len(self._compiling) >= self.max_pending_compiles:
                raise P.Overloaded(f"{len(self._compiling)} compiles are pending (the limit); retry later")
            with self.stats.lock:
                self.stats.cache_misses += 1
            out: cf.Future = cf.Future()
            self._compiling[key] = out
        logs.info("compile_start", sig=sig.func_name)
        try:
            job = self._pool.submit(worker.compile_job, sig.as_dict(), self.target.spec, self.cache_dir, strategy)
        except Exception as e:  # noqa: BLE001 - a broken pool: replace it and retry once
            logs.error("compile_pool_broken", reason=str(e))
            self._pool = self._new_pool()
            job = self._pool.submit(worker.compile_job, sig.as_dict(), self.target.spec, self.cache_dir, strategy)

        def done(j: cf.Future) -> None:
            try:
                res = j.result()
            except Exception as e:  # noqa: BLE001 - the worker process died
                res = {"ok": False, "code": int(MIOpenStatus.InternalError), "error": "CompileError",
                       "reason": f"compile worker failed: {type(e).__name__}: {e}"}
            with self._lock:
                self._compiling.pop(key, None)
                if res.get("ok"):
                    self._remember(self._compiled, key, {"cache_hit": True, "compile_seconds": 0.0,
                                                         "source": "memory"})
            with self.stats.lock:
                if res.get("ok") and not res["cache_hit"]:
                    self.stats.compiles += 1
                    self.stats.compile_seconds += res["compile_seconds"]
                elif not res.get("ok"):
                    self.stats.compile_failures += 1
            if res.get("ok"):
                logs.info("compile_done", sig=sig.func_name, seconds=res["compile_seconds"],
                          cache_hit=res["cache_hit"], strategy=res.get("strategy"))
                out.set_result(res)
            else:
                logs.warning("compile_failed", sig=sig.func_name, reason=res.get("reason"))
                out.set_exception(P.error_from_reply(res))

        job.add_done_callback(done)
        return out, False

    def _remember(self, table: OrderedDict, key, value) -> None:
        """Insert into a per-signature table, dropping the least recently used past the bound
        (a forgotten signature is looked up in the disk cache again: correct, just slower)."""
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.max_signatures:
            table.popitem(last=False)


def _done(value) -> cf.Future:
    f: cf.Future = cf.Future()
    f.set_result(value)
    return f
