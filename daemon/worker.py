"""What runs in the compile worker processes (spawned, so this module must stay light).

Arguments and results are plain dicts/strings: exceptions are turned into dicts here because
boo's error classes do not all survive pickling between processes.
"""

from __future__ import annotations

import os
import signal


def init_worker() -> None:
    # Compiles yield the CPU to kernel calls in the daemon; Ctrl-C is the daemon's to handle.
    try:
        os.nice(10)
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Pay the imports now, not on the first compile.
    from boo_shim import compile as _  # noqa: F401


def ping() -> int:
    return os.getpid()


def compile_job(sig_fields: dict, target: str, cache_dir: str, strategy: str) -> dict:
    from boo_shim.compile import compile_signature
    from boo_shim.conv import ConvSignature
    from boo_shim.errors import BooError, MIOpenStatus

    try:
        sig = ConvSignature.from_dict(sig_fields)
        ck = compile_signature(sig, target, cache=cache_dir, strategy=strategy)
        return {
            "ok": True,
            "cache_hit": ck.cache_hit,
            "compile_seconds": ck.compile_seconds,
            "strategy": ck.strategy,
            "vmfb": str(ck.entry.vmfb_path),
            "worker_pid": os.getpid(),
        }
    except BooError as e:
        return {"ok": False, "code": int(e.status), "reason": str(e), "error": type(e).__name__}
    except Exception as e:  # noqa: BLE001 - reported to the client, never raised across processes
        return {"ok": False, "code": int(MIOpenStatus.InternalError), "reason": f"{type(e).__name__}: {e}",
                "error": "CompileError"}
