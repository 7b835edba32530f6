"""The daemon tried as an attacker and as bad luck would (issue 15): one test per finding, each
of which failed on the code before the fix. Real daemons on real sockets, tiny CPU convs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from boo_shim import protocol as P

from boo_shim import shm
from boo_shim.client import BooClient, DaemonUnavailable
from boo_shim.conv import ConvSignature
from boo_shim.errors import MIOpenStatus
from boo_shim.runtime import to_numpy

from daemon_helpers import cleanup_short_dirs, cli, free_port, short_dir  # noqa: E402,F401

PY = sys.executable
SIG = ConvSignature(input_shape=[1, 2, 6, 5], kernel_shape=[3, 2, 3, 3], dtype="fp32", padding=1)


def raw(endpoint, timeout_ms=20000):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout_ms)
    s.connect(endpoint)
    return s


def wait_until(pred, limit_s=60.0) -> bool:
    """Poll `pred` until true; the limit only bounds a failing test, it is not a speed check."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


@pytest.fixture(scope="module")
def daemon():
    d = short_dir("boo-h-")
    endpoint = f"ipc://{d}/run/daemon.sock"
    cli("start", "--endpoint", endpoint, "--workers", "1", "--no-prewarm", "--sweep-interval", "0.2",
        "--max-clients", "16", check=True)
    with BooClient(endpoint, timeout_s=60, compile_timeout_s=300) as c:
        c.compile(SIG)
        pid = c.hello()["pid"]
    yield {"endpoint": endpoint, "dir": d, "pid": pid}
    cli("stop", "--endpoint", endpoint, timeout=60)


def alive(daemon) -> bool:
    with BooClient(daemon["endpoint"], timeout_s=30) as c:
        return c.hello()["pid"] == daemon["pid"]


def roundtrip(sock, parts) -> dict:
    sock.send_multipart(parts)
    return json.loads(sock.recv_multipart()[0])


# ----------------------------------------------------------------------------- 1. one message
def test_deeply_nested_header_gets_an_error_and_daemon_lives(daemon):
    s = raw(daemon["endpoint"])
    for blob in (b"[" * 60000, b"{\"v\":1,\"op\":\"hello\",\"id\":1,\"client\":" + b"[" * 30000 + b"]" * 30000 + b"}",
                 b"{\"a\":" * 10000 + b"1" + b"}" * 10000):
        h = roundtrip(s, [blob])
        assert h["ok"] is False and h["code"] == int(MIOpenStatus.BadParm) and "nest" in h["reason"]
    # Versions that merely compare equal to 1 are not version 1.
    for v in (True, 1.0):
        h = roundtrip(s, [json.dumps({"v": v, "op": "hello", "id": 3}).encode()])
        assert h["ok"] is False and "version" in h["reason"]
    s.close()
    assert alive(daemon)


def test_unexpected_exception_in_a_handler_is_answered_not_fatal(tmp_path, monkeypatch):
    """The last-resort handler: an exception type no handler expects (here injected into
    validation) gets an InternalError reply and the loop serves the next message."""
    import threading

    from boo_daemon.server import Daemon, DaemonConfig

    d = short_dir("boo-x-")
    endpoint = f"ipc://{d}/d.sock"
    daemon = Daemon(DaemonConfig(endpoint=endpoint, cache_dir=str(tmp_path), workers=1, prewarm_workers=False))
    real = P.validate_request

    def flaky(header, nframes):
        if header.get("op") == "stats":
            raise KeyError("injected")
        return real(header, nframes)

    monkeypatch.setattr(P, "validate_request", flaky)
    t = threading.Thread(target=daemon.serve, daemon=True)
    t.start()
    try:
        assert wait_until(lambda: Path(f"{d}/d.sock").exists())
        s = raw(endpoint)
        h = roundtrip(s, [json.dumps({"v": 1, "op": "stats", "id": 1}).encode()])
        assert h["ok"] is False and h["code"] in (int(MIOpenStatus.BadParm), int(MIOpenStatus.InternalError))
        h = roundtrip(s, [json.dumps({"v": 1, "op": "hello", "id": 2}).encode()])
        assert h["ok"] is True and h["id"] == 2
        s.close()
    finally:
        daemon.request_stop()
        t.join(timeout=60)
    assert not t.is_alive()


# ----------------------------------------------------------------------------- 3. who may connect
def test_loopback_tcp_requires_curve_and_the_owners_keys(tmp_path):
    d = short_dir("boo-tcp-")
    env = {"BOO_CONFIG_DIR": str(d / "config")}
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    cli("start", "--endpoint", endpoint, "--cache-dir", str(tmp_path), "--workers", "1", "--no-prewarm",
        env=env, check=True)
    keydir = d / "config" / "curve"
    try:
        assert (keydir / "client.key_secret").exists()
        assert os.stat(keydir).st_mode & 0o077 == 0 and os.stat(keydir / "server.key_secret").st_mode & 0o077 == 0
        # Another local user has no keys: a plaintext peer asking for shutdown gets nothing.
        s = raw(endpoint, timeout_ms=1500)
        s.send_multipart([json.dumps({"v": 1, "op": "shutdown", "id": 1}).encode()])
        with pytest.raises(zmq.Again):
            s.recv_multipart()
        s.close()
        # A CURVE client with a key of its own is refused too.
        server_key = str(keydir / "server.key")
        with BooClient(endpoint, timeout_s=5, curve_server_key=server_key,
                       curve_client_key_file=None) as stranger:
            stranger._curve = (stranger._curve[0], *zmq.curve_keypair())
            with pytest.raises(DaemonUnavailable):
                stranger.hello()
        # The owner's clients find the keys in the private config dir.
        os.environ["BOO_CONFIG_DIR"] = env["BOO_CONFIG_DIR"]
        try:
            with BooClient(endpoint, timeout_s=20) as c:
                assert c.hello()["ok"] and not c.shm_possible
        finally:
            del os.environ["BOO_CONFIG_DIR"]
    finally:
        assert cli("stop", "--endpoint", endpoint, env=env).returncode == 0


def _segment(name: str, size: int = 4096, mode: int = 0o600) -> Path:
    path = Path("/dev/shm") / name
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode)
    os.ftruncate(fd, size)
    os.close(fd)
    os.chmod(path, mode)
    return path


def _shm_run(name: str) -> dict:
    return {"v": 1, "op": "run", "id": 5, "signature": SIG.as_dict(),
            "inputs": [{"dtype": "f32", "shape": list(s), "shm": {"name": name, "offset": 0,
                                                                  "nbytes": int(np.prod(s)) * 4}}
                       for s in SIG.arg_shapes]}


def test_shared_memory_of_another_process_is_refused(daemon):
    other = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    planted = [_segment(f"boo-{other.pid}-00112233aabbccdd"),  # belongs to another (live) process
               _segment(f"boo-{os.getpid()}-00112233aabbccdd", mode=0o644)]  # ours, but readable by all
    try:
        s = raw(daemon["endpoint"])
        h = roundtrip(s, [json.dumps(_shm_run(planted[0].name)).encode()])
        assert h["ok"] is False and h["code"] == int(MIOpenStatus.BadParm)
        assert "not created by the requesting process" in h["reason"]
        h = roundtrip(s, [json.dumps(_shm_run(planted[1].name)).encode()])
        assert h["ok"] is False and "not private" in h["reason"]
        s.close()
    finally:
        other.kill()
        other.wait()
        for p in planted:
            p.unlink(missing_ok=True)
    # ...while a client's own segment works (and is gone when it closes).
    args = [to_numpy(t) for t in SIG.get_sample_conv_args(seed=1)]
    with BooClient(daemon["endpoint"], timeout_s=60) as c:
        got = c.run(SIG, *args, use_shm=True)
        name = c._conn().shm.seg.name
        assert (Path("/dev/shm") / name).exists()
    assert not (Path("/dev/shm") / name).exists()
    ref = SIG.get_nn_module()(*[__import__("torch").from_numpy(a) for a in args]).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_non_loopback_metrics_warn_loudly(daemon):
    proc = cli("run", "--endpoint", daemon["endpoint"], "--metrics-port", str(free_port()),
               "--metrics-addr", "0.0.0.0")
    assert proc.returncode == 2 and "WARNING" in proc.stderr and "0.0.0.0" in proc.stderr


def test_connections_are_bounded(daemon):
    """--max-clients 16: a 17th connection is refused at the handshake (the client says why at
    once), and a new one is let in after others closed."""
    socks = []
    try:
        for i in range(16):
            s = raw(daemon["endpoint"])
            assert roundtrip(s, [json.dumps({"v": 1, "op": "hello", "id": i + 1}).encode()])["ok"]
            socks.append(s)
        with BooClient(daemon["endpoint"], timeout_s=20) as c:
            with pytest.raises(DaemonUnavailable, match="too many connections"):
                c.hello()
        for s in socks[:4]:
            s.close()
        socks = socks[4:]
        with BooClient(daemon["endpoint"], timeout_s=20) as c:
            assert wait_until(lambda: c.ping(2.0))
    finally:
        for s in socks:
            s.close()
    assert alive(daemon)


# ----------------------------------------------------------------------------- 4. planted links
def test_planted_symlinks_are_refused_and_never_followed():
    d = short_dir("boo-l-")
    victim = d / "victim.txt"
    victim.write_text("precious\n")
    run = d / "run"
    run.mkdir(mode=0o777)
    os.chmod(run, 0o777)  # once world-writable: someone planted links named like our files
    os.symlink(victim, run / "daemon.sock.log")
    os.symlink(victim, run / "daemon.sock.start-err")
    proc = cli("start", "--endpoint", f"ipc://{run}/daemon.sock", "--no-prewarm", "--wait", "60")
    assert proc.returncode != 0 and "did not make" in proc.stderr, proc.stderr
    assert victim.read_text() == "precious\n"
    # The log handler alone never writes through a link either.
    from boo_daemon import logs

    with pytest.raises(P.DaemonUnavailable, match="symbolic link"):
        logs.setup_logging("info", str(run / "daemon.sock.log"))
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("kind", ["dangling", "file"])
def test_runtime_dir_that_is_not_a_directory_is_a_clear_error(kind, monkeypatch):
    d = short_dir("boo-rt-")
    if kind == "dangling":
        os.symlink(d / "nowhere", d / "boo")
    else:
        (d / "boo").write_text("")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d))
    monkeypatch.delenv("BOO_ENDPOINT", raising=False)
    c = BooClient()  # constructing never fails (the shim builds one outside its fallback handling)
    with pytest.raises(DaemonUnavailable, match="dangling symbolic link" if kind == "dangling" else "not a directory"):
        c.hello()
    c.close()
    proc = cli("status", env={"XDG_RUNTIME_DIR": str(d), "BOO_ENDPOINT": ""})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and str(d / "boo") in proc.stderr


# ----------------------------------------------------------------------------- 5. orphans
def test_compile_workers_exit_when_the_daemon_is_killed(tmp_path):
    d = short_dir("boo-o-")
    endpoint = f"ipc://{d}/daemon.sock"
    cli("start", "--endpoint", endpoint, "--cache-dir", str(tmp_path), "--workers", "2", check=True)
    with BooClient(endpoint, timeout_s=30) as c:
        pid = c.hello()["pid"]
    assert wait_until(lambda: len(children(pid)) >= 2)  # the prewarmed workers
    kids = children(pid)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not any(shm.pid_alive(k) for k in kids)), [k for k in kids if shm.pid_alive(k)]


# ----------------------------------------------------------------------------- 6. bounds
_KILLED_CLIENT = r"""
import os, sys, numpy as np
from boo_shim.client import BooClient
from boo_shim.conv import ConvSignature
sig = ConvSignature.from_dict(__import__("json").loads(sys.argv[2]))
c = BooClient(sys.argv[1], timeout_s=60)
args = [np.ascontiguousarray(a.numpy()) for a in sig.get_sample_conv_args(seed=0)]
c.run(sig, *args, use_shm=True)
print(c._conn().shm.seg.name, flush=True)
os.kill(os.getpid(), 9)
"""


def test_killed_clients_segments_are_unmapped_and_unlinked(daemon):
    proc = subprocess.run([PY, "-c", _KILLED_CLIENT, daemon["endpoint"], json.dumps(SIG.as_dict())],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    name = proc.stdout.strip()
    assert name.startswith("boo-")
    assert wait_until(lambda: not (Path("/dev/shm") / name).exists())
    with BooClient(daemon["endpoint"], timeout_s=30) as c:
        assert wait_until(lambda: c.stats()["shm_attached"] == 0)


_EXITING_CLIENT = r"""
import sys, numpy as np
from boo_shim.client import BooClient
from boo_shim.conv import ConvSignature
sig = ConvSignature.from_dict(__import__("json").loads(sys.argv[2]))
KEEP = BooClient(sys.argv[1], timeout_s=60)  # never closed: exit must still clean up
args = [np.ascontiguousarray(a.numpy()) for a in sig.get_sample_conv_args(seed=0)]
KEEP.run(sig, *args, use_shm=True)
print(KEEP._conn().shm.seg.name, flush=True)
"""


def test_client_segments_unlinked_at_exit_without_tracker_warnings(daemon):
    proc = subprocess.run([PY, "-c", _EXITING_CLIENT, daemon["endpoint"], json.dumps(SIG.as_dict())],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "leaked" not in proc.stderr and "resource_tracker" not in proc.stderr, proc.stderr
    assert not (Path("/dev/shm") / proc.stdout.strip()).exists()


def test_queued_requests_are_bounded(daemon):
    s = raw(daemon["endpoint"], timeout_ms=120000)
    s.send_multipart([json.dumps({"v": 1, "op": "find", "id": 1, "signature": SIG.as_dict(),
                                  "iters": 5000, "warmup": 0}).encode()])
    for i in range(100):
        s.send_multipart([json.dumps({"v": 1, "op": "hello", "id": 2 + i}).encode()])
    replies = [json.loads(s.recv_multipart()[0]) for _ in range(101)]
    s.close()
    refused = [r for r in replies if not r["ok"]]
    assert refused and all(r["code"] == int(MIOpenStatus.AllocFailed) for r in refused)
    assert len(refused) <= 100 - 64 + 1  # the first 64 queued ones are served
    assert alive(daemon)


def test_find_refuses_huge_allocations(daemon):
    with BooClient(daemon["endpoint"], timeout_s=30) as c:
        with pytest.raises(P.DaemonError) as e:
            c.find("conv -n 64 -c 256 -H 1024 -W 1024 -k 256 -y 1 -x 1 -F 1", iters=1)
    assert e.value.status == MIOpenStatus.AllocFailed and "limit" in str(e.value)


def test_compile_queue_and_warm_are_bounded(tmp_path):
    """Unit level: a fake pool whose compiles never finish."""
    import concurrent.futures as cf

    from boo_daemon.server import Daemon, DaemonConfig

    d = Daemon(DaemonConfig(endpoint=f"ipc://{short_dir('boo-q-')}/d.sock", cache_dir=str(tmp_path),
                            workers=2, max_pending_compiles=8))

    class NeverPool:
        submitted = 0

        def submit(self, *a, **k):
            NeverPool.submitted += 1
            return cf.Future()

    d.compiles._pool = NeverPool()
    d.compiles._in_disk_cache = lambda *a: False
    sigs = [ConvSignature(input_shape=[1, 1, 4 + i, 4], kernel_shape=[1, 1, 1, 1], dtype="fp32") for i in range(12)]
    for s in sigs[:8]:
        d.compiled(s, "auto")
    with pytest.raises(P.Overloaded) as e:
        d.compiled(sigs[8], "auto")
    assert e.value.status == MIOpenStatus.AllocFailed
    # A warm of many lines feeds the pool a few at a time instead of queuing them all.
    d.compiles._compiling.clear()
    NeverPool.submitted = 0
    from boo_daemon.server import _Request

    req = _Request(b"x", P.validate_request(P.request_header("warm", 1, lines=[s.to_command() for s in sigs]), 0), [])
    d._op_warm(req)
    assert 0 < NeverPool.submitted <= 4


def test_per_signature_tables_are_bounded(tmp_path):
    from boo_daemon.server import OTHER_SIGNATURES, Daemon, DaemonConfig

    d = Daemon(DaemonConfig(endpoint=f"ipc://{short_dir('boo-s-')}/d.sock", cache_dir=str(tmp_path),
                            max_signatures=3))
    sigs = [ConvSignature(input_shape=[1, 1, 4 + i, 4], kernel_shape=[1, 1, 1, 1], dtype="fp32") for i in range(6)]
    for s in sigs:
        d.stats.call(s, 0.001, True)
        d.compiles._remember(d.compiles._compiled, (s, "auto"), {})
    assert len(d.stats.calls) == 4 and d.stats.calls[OTHER_SIGNATURES][0] == 3
    assert list(d.compiles._compiled) == [(s, "auto") for s in sigs[3:]]


def test_fuzz_live_daemon(daemon):
    """The seeded protocol fuzz (tests/test_fuzz_protocol.py) against this module's daemon."""
    from test_fuzz_protocol import live_fuzz

    live_fuzz(daemon)


def test_log_is_rotated(tmp_path):
    from boo_daemon import logs

    path = tmp_path / "d.log"
    logs.setup_logging("info", str(path), max_bytes=2000, backups=2)
    try:
        for i in range(500):
            logs.info("event", i=i, pad="x" * 50)
    finally:
        for h in logs.log.handlers:
            h.close()
        logs.log.handlers[:] = []
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["d.log", "d.log.1", "d.log.2"]
    assert all((tmp_path / f).stat().st_size <= 2200 for f in files)
    assert all(stat_mode & 0o077 == 0 for stat_mode in (os.stat(tmp_path / f).st_mode for f in files))
