"""`boo-run` and `boo-shim-path`: run a MIOpen program through the boo shim.

    boo-shim-path                     # absolute path of libboo_miopen_shim.so (built on first use)
    boo-run [--no-daemon-start] [--endpoint E] -- ./app args...

`boo-run` starts the boo daemon (`boo-daemon start`) unless one answers, then execs the program
with `LD_PRELOAD` set to the shim (prepended to any existing LD_PRELOAD) and `BOO_ENDPOINT`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def shim_path_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="boo-shim-path", description="Print the path of the boo MIOpen shim "
                                 "(building it on first use).")
    ap.add_argument("--rebuild", action="store_true", help="build it again now")
    args = ap.parse_args(argv)
    from .shim import default_build_dir, shim_path

    if args.rebuild:
        from .shim.build import build

        print(build(default_build_dir()))
        return 0
    print(shim_path())
    return 0


def _ensure_daemon(endpoint: str) -> None:
    from .client import BooClient

    c = BooClient(endpoint, autostart=False)
    try:
        if c.ping(timeout_s=5.0):
            return
    finally:
        c.close()
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    cmd = [sys.executable, "-m", "boo_daemon.cli", "start", "--endpoint", endpoint]
    p = subprocess.run(cmd, env=env)
    if p.returncode != 0:
        print(f"boo-run: could not start the boo daemon at {endpoint} (the shim will fall back to the native "
              "library or fail)", file=sys.stderr)


def run_main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        i = argv.index("--")
        opts, cmd = argv[:i], argv[i + 1:]
    else:
        opts, cmd = [], argv
    ap = argparse.ArgumentParser(prog="boo-run", usage="boo-run [--no-daemon-start] [--endpoint E] -- ./app args...",
                                 description="Run a MIOpen program with the boo shim preloaded.")
    ap.add_argument("--no-daemon-start", action="store_true", help="do not start the daemon if none answers")
    ap.add_argument("--endpoint", default=None, help="daemon endpoint (default BOO_ENDPOINT or the per-user socket)")
    args = ap.parse_args(opts)
    if not cmd:
        ap.error("no program given (boo-run [options] -- ./app args...)")
    from .endpoints import default_endpoint
    from .shim import shim_path

    endpoint = args.endpoint or default_endpoint()
    lib = shim_path()
    if not args.no_daemon_start:
        _ensure_daemon(endpoint)
    env = dict(os.environ)
    pre = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = f"{lib}:{pre}" if pre else str(lib)
    env["BOO_ENDPOINT"] = endpoint
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as e:
        print(f"boo-run: cannot run {cmd[0]}: {e}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(run_main())
