"""Helpers shared by the daemon test modules (test_daemon.py, test_daemon_hardening.py,
test_call_path.py, test_call_channel.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PY = sys.executable
_DIRS: list[Path] = []


def short_dir(prefix: str) -> Path:
    """A fresh directory under /tmp: ipc socket paths must stay under ~100 bytes, which pytest's
    own tmp paths do not. Removed when the test module ends (`cleanup_short_dirs`)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    _DIRS.append(d)
    return d


@pytest.fixture(scope="module", autouse=True)
def cleanup_short_dirs():
    """Import it into a test module to have that module's short dirs removed when it ends."""
    yield
    while _DIRS:
        shutil.rmtree(_DIRS.pop(), ignore_errors=True)


def cli(*args, env=None, timeout=120, check=False):
    """`boo-daemon ARGS...` in a child process (this environment plus `env`)."""
    proc = subprocess.run([PY, "-m", "boo_daemon.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"boo-daemon {args} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_inputs(sig, seed=0) -> list:
    """A signature's sample inputs as numpy arrays."""
    from boo_shim.runtime import to_numpy

    return [to_numpy(t) for t in sig.get_sample_conv_args(seed=seed)]


def start_daemon(d: Path, *extra) -> str:
    """`boo-daemon start` on `d/d.sock` with its cache in `d/cache`; returns the endpoint."""
    endpoint = f"ipc://{d}/d.sock"
    cli("start", "--endpoint", endpoint, "--cache-dir", str(d / "cache"), "--workers", "2", *extra, check=True)
    return endpoint
