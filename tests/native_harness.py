"""Shared fixtures for tests that run native MIOpen programs with and without the boo shim.

`native_tree`: one cmake build (reference libMIOpen.so.1, the shim, the test programs) per session;
`boo_daemon`: a real boo daemon on a tmp ipc endpoint with a tmp cache; `run_program`: runs a program
with a clean environment, optionally with LD_PRELOAD of the shim.  Registered in conftest.py.
test_shim.py uses them too: one build and one daemon per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


@pytest.fixture(scope="session")
def native_tree(tmp_path_factory):
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("needs cmake and a C compiler")
    build = tmp_path_factory.mktemp("native-tree")
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), f"-DBOO_PYTHON={PY}", "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True, capture_output=True)
    tree = {"build": build, "shim": build / "lib" / "libboo_miopen_shim.so", "bin": build / "bin"}
    assert tree["shim"].exists()
    return tree


@pytest.fixture(scope="session")
def boo_daemon(tmp_path_factory):
    d = tmp_path_factory.mktemp("boo-daemon")
    endpoint = f"ipc://{d}/d.sock"
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    subprocess.run([PY, "-m", "boo_daemon.cli", "start", "--endpoint", endpoint, "--cache-dir", str(d / "cache"),
                    "--wait", "120"], check=True, env=env, capture_output=True)
    yield endpoint
    subprocess.run([PY, "-m", "boo_daemon.cli", "stop", "--endpoint", endpoint], env=env, capture_output=True)


def run_program(tree, program: str, args=(), *, shim=False, endpoint=None, env_extra=None, timeout=300):
    """Run build/bin/PROGRAM; with shim=True under LD_PRELOAD of the shim talking to `endpoint`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOO_") and k != "LD_PRELOAD"}
    if shim:
        env["LD_PRELOAD"] = str(tree["shim"])
        if endpoint:
            env["BOO_ENDPOINT"] = endpoint
    env.update(env_extra or {})
    return subprocess.run([str(tree["bin"] / program), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout)
