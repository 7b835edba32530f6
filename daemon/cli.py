"""`boo-daemon`: start | run | stop | status | warm.

    boo-daemon start            # background; returns when it answers; prints endpoint and pid
    boo-daemon run              # foreground (logs to stderr unless --log-file)
    boo-daemon status [--json]  # exit 3 when no daemon answers
    boo-daemon stop             # finish in-flight calls, exit
    boo-daemon warm FILE...     # compile every command in the files (MIOpenDriver / MIOpen log lines)

Every option has an environment variable: BOO_ENDPOINT, BOO_CACHE_DIR, BOO_TARGET, BOO_DEVICE,
BOO_COMPILE_WORKERS, BOO_LOG_LEVEL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from boo_shim import config

EXIT_NOT_RUNNING = 3


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint", default=config.endpoint(),
                        help="ipc://PATH or tcp://HOST:PORT (env BOO_ENDPOINT; default "
                             "ipc://$XDG_RUNTIME_DIR/boo/daemon.sock or /tmp/boo-$USER/daemon.sock)")
    common.add_argument("--timeout", type=float, default=None, help="client request timeout, seconds")

    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--cache-dir", default=config.cache_dir(),
                        help="kernel cache (env BOO_CACHE_DIR; default ~/.cache/boo, shared with boo-driver)")
    server.add_argument("--target", default=config.target(),
                        help="cpu | cuda[:sm_XX] | rocm[:gfxXXX] (env BOO_TARGET)")
    server.add_argument("--device", default=config.device(),
                        help="IREE device URI, e.g. hip://0 (env BOO_DEVICE; default: the target's driver)")
    server.add_argument("--workers", type=int, default=config.compile_workers(),
                        help="compile worker processes (env BOO_COMPILE_WORKERS; default: CPU count)")
    server.add_argument("--call-threads", type=int, default=None, help="threads running kernel calls")
    server.add_argument("--inline-run-max-us", type=float, default=200.0,
                        help="run small calls whose mean kernel time is below this on the I/O thread (0: never)")
    server.add_argument("--spin-us", type=float, default=500.0,
                        help="after a message, poll without sleeping this long before blocking: a call "
                             "that comes meanwhile costs no wake-up (0: always block)")
    server.add_argument("--strategy", default="auto", choices=("auto", "fast", "export"))
    server.add_argument("--kernel-capacity", type=int, default=256, help="loaded kernels kept in memory (LRU)")
    server.add_argument("--max-message-mib", type=int, default=1024, help="largest tensor frame accepted")
    server.add_argument("--log-level", default=config.log_level(),
                        choices=("debug", "info", "warning", "error"))
    server.add_argument("--log-file", default=None, help="log here instead of stderr (start: default "
                                                         "<socket>.log)")
    server.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    server.add_argument("--metrics-addr", default="127.0.0.1")
    server.add_argument("--curve-secret-key-file", default=None,
                        help="zmq certificate with the server's CURVE secret key (required for non-loopback tcp)")
    server.add_argument("--curve-authorized-keys", default=None,
                        help="directory of client public certificates allowed to connect (CURVE)")
    server.add_argument("--no-prewarm", action="store_true", help="start compile workers on first use")
    server.add_argument("--max-clients", type=int, default=None,
                        help="open connections at once (more are refused until some close; default 256)")
    server.add_argument("--max-pending-compiles", type=int, default=None,
                        help="compile jobs queued or running (more get AllocFailed; default 256)")
    server.add_argument("--sweep-interval", type=float, default=None,
                        help="seconds between sweeps that unmap/unlink dead clients' shared memory (default 5)")
    server.add_argument("--log-max-mib", type=int, default=16,
                        help="rotate the log file at this size (3 old files are kept)")

    p = argparse.ArgumentParser(prog="boo-daemon", description="The boo kernel service.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", parents=[common, server], help="run in the foreground")
    st = sub.add_parser("start", parents=[common, server], help="start in the background")
    st.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the daemon to answer")
    sub.add_parser("stop", parents=[common], help="stop the daemon").add_argument(
        "--wait", type=float, default=60.0)
    s = sub.add_parser("status", parents=[common], help="print the daemon's figures")
    s.add_argument("--json", action="store_true")
    w = sub.add_parser("warm", parents=[common], help="compile the commands in FILE(s)")
    w.add_argument("files", nargs="+", help="files of MIOpenDriver commands or MIOpen log lines ('-' = stdin)")
    return p


def _client(args, timeout=None):
    from boo_shim.client import BooClient

    return BooClient(args.endpoint, timeout_s=timeout or args.timeout, autostart=False)


def _config(args):
    from .server import DaemonConfig

    return DaemonConfig(
        endpoint=args.endpoint, cache_dir=args.cache_dir, target=args.target, device=args.device,
        workers=args.workers, call_threads=args.call_threads, strategy=args.strategy,
        kernel_capacity=args.kernel_capacity, inline_run_max_us=args.inline_run_max_us, spin_us=args.spin_us, max_frame_bytes=args.max_message_mib << 20,
        metrics_port=args.metrics_port, metrics_addr=args.metrics_addr,
        curve_secret_key_file=args.curve_secret_key_file, curve_authorized_keys=args.curve_authorized_keys,
        log_file=args.log_file, prewarm_workers=not args.no_prewarm,
        **{k: v for k, v in (("max_clients", args.max_clients),
                             ("max_pending_compiles", args.max_pending_compiles),
                             ("sweep_interval_s", args.sweep_interval)) if v is not None},
    )


def cmd_run(args) -> int:
    from . import logs
    from .server import Daemon, StartupError

    from boo_shim import protocol as P
    from boo_shim import endpoints


    os.umask(0o077)  # logs, pid and lock files: private to this user
    try:
        logs.setup_logging(args.log_level, args.log_file, max_bytes=max(1, args.log_max_mib) << 20)
    except (ValueError, OSError, P.DaemonUnavailable) as e:
        print(f"boo-daemon: log file: {e}", file=sys.stderr)
        return 2
    if args.metrics_port is not None and not endpoints.is_loopback_endpoint(f"tcp://{args.metrics_addr}:0"):
        print(f"boo-daemon: WARNING: --metrics-addr {args.metrics_addr} is not loopback: the metrics "
              "endpoint has no authentication, and every host that can reach it reads this daemon's "
              "signatures and figures", file=sys.stderr)
    try:
        return Daemon(_config(args)).serve()
    except StartupError as e:
        print(f"boo-daemon: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - e.g. a bad --target
        from boo_shim.errors import BooError

        if isinstance(e, BooError):
            print(f"boo-daemon: {e}", file=sys.stderr)
            return 2
        raise


def _forward(args) -> list[str]:
    out = []
    for flag, val in (("--endpoint", args.endpoint), ("--cache-dir", args.cache_dir), ("--target", args.target),
                      ("--device", args.device), ("--workers", args.workers), ("--call-threads", args.call_threads),
                      ("--strategy", args.strategy), ("--inline-run-max-us", args.inline_run_max_us), ("--spin-us", args.spin_us),
                      ("--kernel-capacity", args.kernel_capacity),
                      ("--max-message-mib", args.max_message_mib), ("--log-level", args.log_level),
                      ("--log-file", args.log_file), ("--metrics-port", args.metrics_port),
                      ("--metrics-addr", args.metrics_addr), ("--curve-secret-key-file", args.curve_secret_key_file),
                      ("--curve-authorized-keys", args.curve_authorized_keys),
                      ("--max-clients", args.max_clients), ("--max-pending-compiles", args.max_pending_compiles),
                      ("--log-max-mib", args.log_max_mib), ("--sweep-interval", args.sweep_interval)):
        if val is not None:
            out += [flag, str(val)]
    if args.no_prewarm:
        out.append("--no-prewarm")
    return out


def cmd_start(args) -> int:
    from boo_shim import endpoints

    args.endpoint = args.endpoint or endpoints.default_endpoint()
    client = _client(args, timeout=2.0)
    try:
        if client.ping(2.0):
            info = client.hello()
            print(f"boo-daemon already running: endpoint={args.endpoint} pid={info['pid']}")
            return 0
        if not args.log_file:
            args.log_file = str(endpoints.endpoint_state_path(args.endpoint, ".log"))
        args.log_file = os.path.abspath(args.log_file)
        cmd = [sys.executable, "-m", "boo_daemon.cli", "run", *_forward(args)]
        err_path = endpoints.endpoint_state_path(args.endpoint, ".start-err")
        endpoints.check_state_dir(err_path.parent, endpoints.endpoint_state_path(args.endpoint, "").name)
        # A fresh file (O_EXCL, no symlink followed), read back through our own descriptor.
        err = os.fdopen(endpoints.open_private(err_path, os.O_RDWR, exclusive=True), "w+")
        with err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True, close_fds=True)
            return _wait_started(args, client, proc, err)
    finally:
        client.close()


def _wait_started(args, client, proc, err) -> int:
    from .server import read_info

    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            err.seek(0)
            msg = err.read().strip()
            if client.ping(1.0):  # lost a start race to another daemon: that one serves
                info = client.hello()
                print(f"boo-daemon already running: endpoint={args.endpoint} pid={info['pid']}")
                return 0
            print(f"boo-daemon: failed to start (exit {rc}): {msg[-2000:]}", file=sys.stderr)
            return 1
        if args.curve_secret_key_file or args.endpoint.startswith("tcp://"):
            # This process may hold no authorized client key (or the daemon is only now writing
            # the owner's): the pid file (written after the bind) says the daemon is up.
            if read_info(args.endpoint).get("pid") == proc.pid:
                print(f"boo-daemon running: endpoint={args.endpoint} pid={proc.pid} log={args.log_file}")
                return 0
        elif client.ping(0.5):
            info = client.hello()
            print(f"boo-daemon running: endpoint={args.endpoint} pid={info['pid']} log={args.log_file}")
            return 0
        time.sleep(0.1)
    print(f"boo-daemon: no answer within {args.wait:g} s (pid {proc.pid}); see {args.log_file}", file=sys.stderr)
    return 1


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def cmd_stop(args) -> int:
    from boo_shim import endpoints
    from boo_shim.protocol import DaemonUnavailable

    from .server import read_info

    args.endpoint = args.endpoint or endpoints.default_endpoint()
    client = _client(args, timeout=5.0)
    pid = read_info(args.endpoint).get("pid")
    try:
        info = client.hello()
        pid = info["pid"]
        client.shutdown()
    except DaemonUnavailable:
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)  # wedged: fall back to the signal
        else:
            print(f"boo-daemon: not running at {args.endpoint}")
            return 0
    finally:
        client.close()
    deadline = time.monotonic() + args.wait
    while pid and _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid and _pid_alive(pid):
        print(f"boo-daemon: pid {pid} still running after {args.wait:g} s", file=sys.stderr)
        return 1
    print(f"boo-daemon stopped: endpoint={args.endpoint} pid={pid}")
    return 0


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return str(n)


def _fmt_duration(s: float) -> str:
    s = int(s)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def format_status(st: dict) -> str:
    rows = [
        ("uptime", _fmt_duration(st["uptime_s"])),
        ("endpoint", st["endpoint"]),
        ("pid", st["pid"]),
        ("target / device", f"{st['target']} / {st['device']}"),
        ("cache dir", st["cache_dir"]),
        ("cache hits / misses", f"{st['cache_hits']} / {st['cache_misses']}  "
                                f"(memory {st['kernel_hits']}, disk {st['disk_hits']})"),
        ("compiles", f"{st['compiles']} in {st['compile_seconds']:.2f} s  (failed {st['compile_failures']}, "
                     f"single-flight joins {st['single_flight_joins']})"),
        ("compile workers", st["workers"]),
        ("in flight", f"{st['inflight']} requests, {st['queued']} queued, {st['compiles_in_flight']} compiles"),
        ("requests / errors", f"{st['requests']} / {st['errors']}  (malformed {st['bad_messages']})"),
        ("loaded kernels", st["loaded_kernels"]),
        ("RSS memory", _fmt_bytes(st["rss_bytes"])),
    ]
    w = max(len(k) for k, _ in rows)
    lines = [f"{k:<{w}}  {v}" for k, v in rows]
    if st["calls"]:
        lines.append("")
        name_w = max(9, max(len(n) for n in st["calls"]))
        lines.append(f"{'signature':<{name_w}}  {'calls':>8}  {'mean ms':>10}  {'errors':>6}")
        for name, c in st["calls"].items():
            mean = f"{c['mean_ms']:.4f}" if c["mean_ms"] is not None else "-"
            lines.append(f"{name:<{name_w}}  {c['calls']:>8}  {mean:>10}  {c['errors']:>6}")
    return "\n".join(lines)


def cmd_status(args) -> int:
    from boo_shim.protocol import DaemonUnavailable

    client = _client(args, timeout=args.timeout or 5.0)
    try:
        st = client.stats()
    except DaemonUnavailable as e:
        print(f"boo-daemon: not running ({e})", file=sys.stderr)
        return EXIT_NOT_RUNNING
    finally:
        client.close()
    print(json.dumps(st, indent=1) if args.json else format_status(st))
    return 0


def cmd_warm(args) -> int:
    lines = []
    for path in args.files:
        text = sys.stdin.read() if path == "-" else open(path).read()
        lines += [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    client = _client(args)
    try:
        rep = client.warm(lines)
    finally:
        client.close()
    for r in rep["results"]:
        status = "ok" if r["ok"] else f"FAILED ({r.get('code')}): {r.get('reason')}"
        print(f"{status:<6} compiled={r['compiled']} cached={r['cache_hits']}  {r['line'][:120]}")
    print(f"{rep['lines_ok']} ok, {rep['lines_failed']} failed")
    return 0 if rep["lines_failed"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from boo_shim.errors import BooError

    try:
        return {"run": cmd_run, "start": cmd_start, "stop": cmd_stop, "status": cmd_status,
                "warm": cmd_warm}[args.cmd](args)
    except BooError as e:
        print(f"boo-daemon: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
