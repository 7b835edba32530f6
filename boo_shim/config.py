"""Every `BOO_*` environment variable: what it means, its default, who reads it, and one accessor each.

The accessors read the environment when called, never at import: the shim reads its settings
at its first call, and tests set variables after boo is imported. A variable set to the empty
string counts as unset. Where the same variable means a different default to two users
(`BOO_EXECUTE`, `BOO_DEVICE`), the accessor returns None when unset and each user applies its own.

`markdown_table()` is the table in docs/config.md; a test keeps the two equal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Variable", "VARIABLES", "markdown_table"]


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str
    users: str


VARIABLES: tuple[Variable, ...] = (
    Variable("BOO_CACHE_DIR", "`$XDG_CACHE_HOME/boo` or `~/.cache/boo`", "on-disk kernel cache",
             "cache, boo-daemon, boo-driver, boo-cache, boo-precompile"),
    Variable("BOO_CACHE_LOCK_TIMEOUT", "300", "seconds to wait for another process's compile lock", "cache"),
    Variable("BOO_COMPILER_VERSION", "(the installed compiler)",
             "IREE compiler version for cache keys on a machine without the compiler", "compile"),
    Variable("BOO_ENDPOINT", "`ipc://<runtime dir>/daemon.sock`", "the daemon's zmq endpoint",
             "protocol, client, boo-daemon, boo-launch, shim"),
    Variable("BOO_CONFIG_DIR", "`$XDG_CONFIG_HOME/boo` or `~/.config/boo`", "where CURVE keys live",
             "protocol, client, boo-daemon"),
    Variable("BOO_CLIENT_TIMEOUT", "30", "seconds a client request waits for its reply", "client"),
    Variable("BOO_CLIENT_COMPILE_TIMEOUT", "600", "seconds a request that may compile waits", "client"),
    Variable("BOO_SHM_THRESHOLD", "`protocol.DEFAULT_SHM_THRESHOLD`",
             "tensors of at least this many bytes go through shared memory", "client"),
    Variable("BOO_DAEMON_AUTOSTART", "0", "`1`: a client that finds no daemon starts one", "client, shim"),
    Variable("BOO_CURVE_SERVER_KEY", "(from `BOO_CONFIG_DIR`)", "the daemon's CURVE public key (tcp)", "client"),
    Variable("BOO_CURVE_CLIENT_KEY_FILE", "(from `BOO_CONFIG_DIR`)", "the client's CURVE certificate (tcp)",
             "client"),
    Variable("BOO_TARGET", "cpu", "compile target: cpu, cuda[:sm_XX], rocm[:gfxXXX]", "boo-daemon"),
    Variable("BOO_DEVICE", "daemon: the target's driver; shim: cpu",
             "daemon: IREE device URI; shim: where tensors live (only host memory so far)", "boo-daemon, shim"),
    Variable("BOO_COMPILE_WORKERS", "CPU count", "compile worker processes", "boo-daemon"),
    Variable("BOO_LOG_LEVEL", "info", "daemon log level: debug, info, warning, error", "boo-daemon"),
    Variable("BOO_EXECUTE", "ops: inprocess; shim: daemon",
             "ops: `inprocess` or `daemon`; shim: `daemon` or `local` (this process, daemon's cache)", "ops, shim"),
    Variable("BOO_DISABLE", "0", "the shim sends every call to the native MIOpen", "shim"),
    Variable("BOO_FALLBACK", "native", "`native`: calls boo cannot run go to MIOpen; `error`: they fail", "shim"),
    Variable("BOO_COMPARE", "0", "the shim also runs MIOpen and compares", "shim"),
    Variable("BOO_LOG_CMD", "0", "the shim logs each conv as a MIOpenDriver command line", "shim"),
    Variable("BOO_LOG_FILE", "(stderr)", "where the shim logs", "shim"),
    Variable("BOO_VERBOSE", "0", "the shim logs repeated messages every time", "shim"),
    Variable("BOO_FIND_ITERS", "3", "timed runs per algorithm in the shim's Find", "shim"),
    Variable("BOO_SHIM_TRACE", "(off)", "a file: one JSON line of stage times per served conv call", "shim"),
    Variable("BOO_SHIM_FAST", "1", "`0`: every conv call goes through the shim's Python (no C hot path)", "shim"),
    Variable("BOO_SPIN_US", "300", "after sending a call, poll for the reply without sleeping this many "
             "microseconds before blocking (0: block at once)", "client, shim"),
    Variable("BOO_SHIM_DIR", "`<venv>/lib/boo-shim`", "where the shim is built", "shim build, boo-launch"),
    Variable("BOO_NATIVE_LIB", "(the next MIOpen in link order)", "the real MIOpen behind the shim",
             "shim (C)"),
    Variable("BOO_PYTHON_USE_ENV", "(unset)", "set: the shim's embedded Python honours PYTHON* variables",
             "shim (C)"),
)


def _get(name: str) -> str | None:
    return os.environ.get(name) or None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() not in ("", "0", "false", "no", "off")


def _float(name: str, default: float) -> float:
    v = _get(name)
    if v is None:
        return default
    try:
        return float(v)
    except ValueError:
        raise ValueError(f"{name}={v!r} is not a number of seconds") from None


def cache_dir() -> str | None:
    return _get("BOO_CACHE_DIR")


def cache_lock_timeout_s(default: float) -> float:
    return float(_get("BOO_CACHE_LOCK_TIMEOUT") or default)


def compiler_version() -> str | None:
    return _get("BOO_COMPILER_VERSION")


def endpoint() -> str | None:
    return _get("BOO_ENDPOINT")


def config_dir() -> str | None:
    return _get("BOO_CONFIG_DIR")


def client_timeout_s(default: float) -> float:
    return _float("BOO_CLIENT_TIMEOUT", default)


def client_compile_timeout_s(default: float) -> float:
    return _float("BOO_CLIENT_COMPILE_TIMEOUT", default)


def shm_threshold(default: int) -> int:
    v = _get("BOO_SHM_THRESHOLD")
    return int(v) if v else default


def daemon_autostart() -> bool:
    return os.environ.get("BOO_DAEMON_AUTOSTART") == "1"


def curve_server_key() -> str | None:
    return _get("BOO_CURVE_SERVER_KEY")


def curve_client_key_file() -> str | None:
    return _get("BOO_CURVE_CLIENT_KEY_FILE")


def target() -> str:
    return _get("BOO_TARGET") or "cpu"


def device() -> str | None:
    return _get("BOO_DEVICE")


def compile_workers() -> int | None:
    v = _get("BOO_COMPILE_WORKERS")
    return int(v) if v else None


def log_level() -> str:
    return _get("BOO_LOG_LEVEL") or "info"


def execute() -> str | None:
    return _get("BOO_EXECUTE")


def shim_disabled() -> bool:
    return _flag("BOO_DISABLE")


def shim_fallback() -> str:
    return (_get("BOO_FALLBACK") or "native").lower()


def shim_compare() -> bool:
    return _flag("BOO_COMPARE")


def shim_log_cmd() -> bool:
    return _flag("BOO_LOG_CMD")


def shim_log_file() -> str | None:
    return _get("BOO_LOG_FILE")


def shim_verbose() -> bool:
    return _flag("BOO_VERBOSE")


def shim_find_iters() -> int:
    return int(_get("BOO_FIND_ITERS") or "3")


def shim_trace_path() -> str | None:
    return _get("BOO_SHIM_TRACE")


def shim_fast() -> bool:
    return (_get("BOO_SHIM_FAST") or "1").lower() not in ("0", "false", "no", "off")


def spin_us() -> int:
    raw = _get("BOO_SPIN_US")
    try:
        return max(0, min(int(raw), 1_000_000)) if raw else 300
    except ValueError:
        return 300


def shim_dir() -> str | None:
    return _get("BOO_SHIM_DIR")


def markdown_table() -> str:
    rows = ["| variable | default | meaning | read by |", "| --- | --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.default} | {v.meaning} | {v.users} |" for v in VARIABLES]
    return "\n".join(rows) + "\n"
