"""Helpers shared by the daemon test modules (test_daemon.py, test_daemon_hardening.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

PY = sys.executable


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
