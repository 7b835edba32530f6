"""What runs in the compile worker processes (spawned, so this module must stay light).

Arguments and results are plain dicts/strings: exceptions are turned into dicts here because
boo's error classes do not all survive pickling between processes.
"""

from __future__ import annotations

import os
import signal
import threading
import time


def init_worker(daemon_pid: int | None = None) -> None:
    # Compiles yield the CPU to kernel calls in the daemon; Ctrl-C is the daemon's to handle.
    try:
        os.nice(10)
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if daemon_pid is not None:
        _exit_with(daemon_pid)
    # Pay the imports now, not on the first compile.
    from boo_shim import compile as _  # noqa: F401


def _exit_with(daemon_pid: int) -> None:
    """End this worker when the daemon dies, however it dies: a SIGKILLed daemon used to leave
    its workers (230-300 MiB each) and, through their inherited pipe, its resource_tracker
    running forever. Linux: the kernel sends SIGKILL when the parent goes (PR_SET_PDEATHSIG);
    everywhere: a thread notices the reparenting within a second."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != daemon_pid:  # it died before the prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != daemon_pid:
                os._exit(1)

    threading.Thread(target=watch, name="boo-parent-watch", daemon=True).start()


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
