"""The daemon end to end: real `boo-daemon` processes on real sockets, tiny CPU convolutions.

One daemon serves most of the module; the crash/restart and signal tests start their own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import zmq

from boo_shim import protocol as P
from boo_shim.client import BooClient, DaemonError, DaemonUnavailable
from boo_shim.conv import ConvSignature
from boo_shim.errors import MIOpenStatus, SignatureError
from boo_shim.runtime import to_numpy

from daemon_helpers import cleanup_short_dirs, cli, free_port, short_dir  # noqa: E402,F401

PY = sys.executable
# Distinct tiny signatures so that nothing here hits another test module's cache entries.
FWD = ConvSignature(input_shape=[2, 3, 7, 6], kernel_shape=[4, 3, 3, 2], dtype="fp32", padding=1)
BWD = FWD.with_mode("bwd")
WRW = FWD.with_mode("wrw")
LARGE = ConvSignature(input_shape=[1, 1, 600, 600], kernel_shape=[1, 1, 1, 1], dtype="fp32")  # 1.4 MB in/out


def rel_err(got, sig, args) -> float:
    ref = sig.get_nn_module()(*[torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in args]).numpy()
    diff = np.asarray(got, dtype=np.float64) - ref
    return float(np.sqrt(np.mean(diff**2)) / max(np.abs(ref).max(), 1e-30))


def sample(sig, seed=0):
    return [to_numpy(t) for t in sig.get_sample_conv_args(seed=seed)]


@pytest.fixture(scope="module")
def daemon():
    d = short_dir("boo-t-")
    endpoint = f"ipc://{d}/run/daemon.sock"  # the daemon creates run/ (0700)
    cache = d / "cache"
    port = free_port()
    proc = cli("start", "--endpoint", endpoint, "--cache-dir", str(cache), "--workers", "2",
               "--metrics-port", str(port), "--log-level", "debug", check=True)
    assert "running" in proc.stdout and endpoint in proc.stdout
    info = {"endpoint": endpoint, "cache": cache, "dir": d, "metrics_port": port,
            "log": Path(f"{d}/run/daemon.sock.log")}
    yield info
    cli("stop", "--endpoint", endpoint, timeout=60)


@pytest.fixture
def client(daemon):
    c = BooClient(daemon["endpoint"], timeout_s=60, compile_timeout_s=120)
    yield c
    c.close()


def stats(daemon) -> dict:
    with BooClient(daemon["endpoint"], timeout_s=30) as c:
        return c.stats()


# ----------------------------------------------------------------------------- lifecycle
def test_hello_and_status(daemon, client):
    h = client.hello()
    assert h["protocol"] == P.PROTOCOL_VERSION and h["target"] == "cpu:host" and h["pid"] > 0
    assert h["iree_compiler"] and h["iree_runtime"] and h["boo"]
    proc = cli("status", "--endpoint", daemon["endpoint"], check=True)
    for word in ("uptime", "endpoint", "pid", "cache dir", "cache hits / misses", "compiles", "in flight",
                 "RSS memory", str(h["pid"])):
        assert word in proc.stdout, proc.stdout
    st = json.loads(cli("status", "--json", "--endpoint", daemon["endpoint"], check=True).stdout)
    assert st["pid"] == h["pid"] and st["rss_bytes"] > 0
    # A second start is a no-op; a second `run` on the same endpoint is refused.
    assert "already running" in cli("start", "--endpoint", daemon["endpoint"], check=True).stdout
    second = cli("run", "--endpoint", daemon["endpoint"], "--cache-dir", str(daemon["cache"]))
    assert second.returncode == 2 and "already serves" in second.stderr
    assert client.hello()["pid"] == h["pid"]  # and the first one is unharmed


def test_socket_and_directory_are_private(daemon):
    sock = Path(daemon["endpoint"][len("ipc://"):])
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) & 0o077 == 0
    assert stat.S_IMODE(os.stat(sock.parent).st_mode) == 0o700
    for suffix in (".lock", ".pid", ".log"):
        assert stat.S_IMODE(os.stat(f"{sock}{suffix}").st_mode) & 0o077 == 0


def test_status_when_not_running():
    d = short_dir("boo-n-")
    proc = cli("status", "--endpoint", f"ipc://{d}/none.sock")
    assert proc.returncode == 3 and "not running" in proc.stderr
    assert "not running" in cli("stop", "--endpoint", f"ipc://{d}/none.sock").stdout


def test_nonloopback_tcp_needs_curve():
    proc = cli("run", "--endpoint", f"tcp://0.0.0.0:{free_port()}")
    assert proc.returncode == 2 and "CURVE" in proc.stderr


# ----------------------------------------------------------------------------- calls
def test_all_directions_correct(client):
    for sig in (FWD, BWD, WRW):
        args = sample(sig)
        got = client.run(sig, *args)
        assert got.shape == tuple(sig.result_shape) and got.dtype == np.float32
        assert rel_err(got, sig, args) < 1e-5, sig.func_name
    # Signatures as command strings work too, and torch tensors as inputs.
    targs = FWD.get_sample_conv_args(seed=3)
    got = client.run(FWD.to_command(), *targs)
    assert rel_err(got, FWD, [to_numpy(t) for t in targs]) < 1e-5


def test_concurrent_threads_correct(daemon):
    """Four threads share one client (a socket each) and four have their own: all correct."""
    shared = BooClient(daemon["endpoint"], timeout_s=60, compile_timeout_s=120)
    errors: list = []

    def work(i, c):
        try:
            for j in range(15):
                sig = (FWD, BWD, WRW)[(i + j) % 3]
                args = sample(sig, seed=i * 100 + j)
                assert rel_err(c.run(sig, *args), sig, args) < 1e-5
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    own = [BooClient(daemon["endpoint"], timeout_s=60, compile_timeout_s=120) for _ in range(4)]
    threads = [threading.Thread(target=work, args=(i, shared)) for i in range(4)]
    threads += [threading.Thread(target=work, args=(4 + i, c)) for i, c in enumerate(own)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    for c in [shared, *own]:
        c.close()
    assert not errors, errors[0]
    st = stats(daemon)
    assert st["calls"][FWD.func_name]["calls"] >= 40


_PROC_CLIENT = r"""
import sys, time, json
from boo_shim.client import BooClient
endpoint, command = sys.argv[1], sys.argv[2]
c = BooClient(endpoint, timeout_s=60, compile_timeout_s=120)
c.hello()
print("ready", flush=True)
sys.stdin.readline()  # "go"
r = c.compile(command)
print(json.dumps({"cache_hit": r["cache_hit"], "joined": r["joined"]}))
"""


def test_single_flight_across_processes(daemon):
    """Four client processes ask for one new signature at the same moment: one compile."""
    sig = ConvSignature(input_shape=[1, 2, 9, 9], kernel_shape=[2, 2, 2, 2], dtype="fp32", stride=2)
    before = stats(daemon)
    procs = [subprocess.Popen([PY, "-c", _PROC_CLIENT, daemon["endpoint"], sig.to_command()],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:  # all connected...
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:  # ...then all at once
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    after = stats(daemon)
    assert after["compiles"] - before["compiles"] == 1
    assert after["cache_misses"] - before["cache_misses"] == 1
    assert sum(not o["cache_hit"] for o in outs) >= 1
    # Everyone else joined the in-flight compile (or, if late, found it done).
    joins = after["single_flight_joins"] - before["single_flight_joins"]
    hits = after["cache_hits"] - before["cache_hits"]
    assert joins + hits >= 3 and joins >= 1


def test_large_tensors_through_shm(client, daemon):
    args = sample(LARGE)
    assert sum(a.nbytes for a in args) >= client.shm_threshold
    via_shm = client.run(LARGE, *args)  # above the threshold: shared memory
    assert rel_err(via_shm, LARGE, args) < 1e-5
    inline = client.run(LARGE, *args, use_shm=False)
    np.testing.assert_array_equal(inline, via_shm)
    out = np.empty(LARGE.result_shape, np.float32)
    assert client.run(LARGE, *args, use_shm=True, out=out) is out
    np.testing.assert_array_equal(out, via_shm)
    # The small signature can be forced through shm as well.
    small = sample(FWD)
    assert rel_err(client.run(FWD, *small, use_shm=True), FWD, small) < 1e-5
    assert stats(daemon)["shm_attached"] >= 1


def test_errors_carry_miopen_status(client):
    with pytest.raises(SignatureError) as e:
        client.compile("conv -n 1 -c 3 -H 8 -W 8 -k 4 -y 3 -x 3 -g 2 -F 1")
    assert e.value.status == MIOpenStatus.BadParm and isinstance(e.value, DaemonError)
    args = sample(FWD)
    with pytest.raises(SignatureError, match="tensor 0"):
        client.run(FWD, args[0][:1], args[1])
    with pytest.raises(DaemonError) as e:
        client.request("run", {"signature": FWD.as_dict(),
                               "inputs": [{"dtype": "f32", "shape": list(s), "shm": {
                                   "name": f"boo-{os.getpid()}-0123456789abcdef", "offset": 0,
                                   "nbytes": int(np.prod(s)) * 4}} for s in FWD.arg_shapes]})
    assert e.value.status == MIOpenStatus.BadParm and "does not exist" in str(e.value)
    assert client.hello()["ok"]


def test_find_and_warm(client, daemon):
    r = client.find(FWD, iters=5)
    assert r["iters"] == 5 and 0 < r["min_ms"] <= r["mean_ms"] <= r["max_ms"]
    lines = [
        FWD.to_command(),
        "MIOpen(HIP): Command [LogCmdConvolution] ./bin/MIOpenDriver conv -n 2 -c 3 -H 7 -W 6 -k 4 -y 3 -x 2 "
        "-p 1 -q 1 -u 1 -v 1 -l 1 -j 1 -m conv -g 1 -F 3 -t 1",
        "convint8 -n 1 -c 4 -H 8 -W 8 -k 4 -y 1 -x 1",
        "bogus line",
    ]
    rep = client.warm(lines)
    res = rep["results"]
    assert rep["lines_ok"] == 2 and rep["lines_failed"] == 2
    assert res[0]["ok"] and res[0]["cache_hits"] == 1
    assert res[1]["ok"] and len(res[1]["signatures"]) == 2
    assert res[2]["code"] == int(MIOpenStatus.NotImplemented)
    assert res[3]["code"] == int(MIOpenStatus.BadParm)


def test_metrics_exporter(daemon, client):
    client.run(FWD, *sample(FWD))
    text = urllib.request.urlopen(f"http://127.0.0.1:{daemon['metrics_port']}/metrics", timeout=10).read().decode()
    for name in ("boo_compiles_total", "boo_cache_hits_total", "boo_calls_total", "boo_resident_memory_bytes",
                 "boo_inflight_requests", "boo_compile_seconds_total"):
        assert name in text
    assert FWD.func_name in text


def test_structured_log(daemon, client):
    client.hello()
    lines = daemon["log"].read_text().splitlines()
    assert any("event=ready" in ln and "level=info" in ln for ln in lines)
    assert any("event=compile_done" in ln for ln in lines)
    assert all(ln.startswith("ts=") for ln in lines)


# ----------------------------------------------------------------------------- robustness
def _raw(endpoint):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 20000)
    s.connect(endpoint)
    return s


def test_malformed_messages_get_errors_and_daemon_survives(daemon):
    s = _raw(daemon["endpoint"])
    x, w = sample(FWD)
    good = {"v": 1, "op": "run", "id": 1, "signature": FWD.as_dict(),
            "inputs": [P.array_spec(x, inline=0).to_wire(), P.array_spec(w, inline=1).to_wire()]}
    bad: list[list[bytes]] = [
        [b"\x00\xff\x13garbage"],
        [b"{\"v\": 1, \"op\":"],
        [b"[]"],
        [b""],
        [json.dumps({"v": 1, "op": "hello", "id": 1, "pad": "x" * 70000}).encode()],  # > 64 KiB header
        [json.dumps({"v": 99, "op": "hello", "id": 1}).encode()],
        [json.dumps({"v": 1, "op": "rm -rf", "id": 1}).encode()],
        [json.dumps({"v": 1, "op": "hello", "id": "one"}).encode()],
        [json.dumps({"v": 1, "op": "compile", "id": 1, "signature": 5}).encode()],
        [json.dumps({"v": 1, "op": "compile", "id": 1, "signature": "conv -n -5"}).encode()],
        [json.dumps({"v": 1, "op": "compile", "id": 1, "signature": {"input_shape": "big"}}).encode()],
        [json.dumps(good).encode(), x.tobytes()],  # one frame missing
        [json.dumps(good).encode(), x.tobytes(), w.tobytes(), b"extra"],
        [json.dumps(good).encode(), x.tobytes()[:-4], w.tobytes()],  # frame shorter than its shape
        [json.dumps({**good, "inputs": [{"dtype": "f32", "shape": [1 << 30] * 4, "inline": 0},
                                        good["inputs"][1]]}).encode(), x.tobytes(), w.tobytes()],
        [json.dumps({**good, "inputs": [{"dtype": "f32", "shape": list(x.shape), "shm": {
            "name": "/../../etc/passwd", "offset": 0, "nbytes": x.nbytes}}, good["inputs"][1]]}).encode(),
         w.tobytes()],
        [json.dumps({**good, "inputs": [{"dtype": "i8", "shape": list(x.shape), "inline": 0},
                                        good["inputs"][1]]}).encode(), x.tobytes(), w.tobytes()],
        [json.dumps({"v": 1, "op": "stats", "id": 1}).encode()] + [b"x"] * 20,
        [json.dumps({"v": 1, "op": "find", "id": 1, "signature": FWD.as_dict(), "iters": 10**9}).encode()],
        [json.dumps({"v": 1, "op": "warm", "id": 1, "lines": [{"x": 1}, 3]}).encode()],
    ]
    rng = np.random.default_rng(1)
    for _ in range(40):  # random bytes and random frame counts
        bad.append([rng.bytes(int(rng.integers(0, 300))) for _ in range(int(rng.integers(1, 5)))])
    for _ in range(40):  # a valid header with one field mangled
        h = json.loads(json.dumps(good))
        key = ["v", "op", "id", "signature", "inputs"][int(rng.integers(0, 5))]
        h[key] = [None, -3, "x", [1, 2], {"k": []}, 2**80, 1e300][int(rng.integers(0, 7))]
        bad.append([json.dumps(h).encode(), x.tobytes(), w.tobytes()])
    for msg in bad:
        s.send_multipart(msg)
        reply = s.recv_multipart()
        header = json.loads(reply[0])
        assert header["ok"] is False, (msg[0][:200], header)
        assert header["code"] in {int(v) for v in MIOpenStatus} and header["code"] != 0
        assert header["reason"]
    # Still alive and correct, and the good message works on the same socket.
    s.send_multipart([json.dumps(good).encode(), x.tobytes(), w.tobytes()])
    reply = s.recv_multipart()
    assert json.loads(reply[0])["ok"] is True
    got = np.frombuffer(reply[1], np.float32).reshape(FWD.result_shape)
    assert rel_err(got, FWD, [x, w]) < 1e-5
    s.close()
    assert stats(daemon)["bad_messages"] >= 20


def test_order_per_client_and_no_blocking_between_clients(daemon):
    """Pipelined requests on one socket are answered in order; another client is not held up."""
    s = _raw(daemon["endpoint"])
    slow = {"v": 1, "op": "find", "id": 1, "signature": FWD.as_dict(), "iters": 5000, "warmup": 0}
    s.send_multipart([json.dumps(slow).encode()])
    s.send_multipart([json.dumps({"v": 1, "op": "hello", "id": 2}).encode()])
    time.sleep(0.05)
    t0 = time.perf_counter()
    with BooClient(daemon["endpoint"], timeout_s=30) as other:
        other.hello()
        other.run(FWD, *sample(FWD))
    other_s = time.perf_counter() - t0
    first = json.loads(s.recv_multipart()[0])
    second = json.loads(s.recv_multipart()[0])
    assert (first["id"], second["id"]) == (1, 2)
    assert first["ok"] and second["ok"]
    slow_s = first["elapsed_ms"] / 1e3
    assert other_s < slow_s, (other_s, slow_s)
    s.close()


def test_unavailable_is_fast_and_clear():
    d = short_dir("boo-u-")
    c = BooClient(f"ipc://{d}/nobody.sock", timeout_s=5)
    t0 = time.perf_counter()
    with pytest.raises(DaemonUnavailable, match="boo-daemon start"):
        c.hello()
    # A stale socket file with nobody behind it.
    s = socket.socket(socket.AF_UNIX)
    s.bind(f"{d}/stale.sock")
    s.close()
    c2 = BooClient(f"ipc://{d}/stale.sock", timeout_s=5)
    with pytest.raises(DaemonUnavailable):
        c2.hello()
    c3 = BooClient(f"tcp://127.0.0.1:{free_port()}", timeout_s=5)
    with pytest.raises(DaemonUnavailable):
        c3.hello()
    assert time.perf_counter() - t0 < 5
    for x in (c, c2, c3):
        x.close()


def test_crash_restart_reuses_cache_and_sigterm_drains():
    """kill -9 mid-call -> the client errors within its timeout; a restart (autostart, stale
    socket) serves from the cache without compiling; SIGTERM finishes the in-flight call."""
    d = short_dir("boo-r-")
    endpoint, cache = f"ipc://{d}/daemon.sock", str(d / "cache")
    env = {"BOO_CACHE_DIR": cache, "BOO_COMPILE_WORKERS": "1"}
    cli("start", "--endpoint", endpoint, "--no-prewarm", env=env, check=True)
    c = BooClient(endpoint, timeout_s=20, compile_timeout_s=120)
    assert c.compile(FWD)["ok"]
    pid = c.hello()["pid"]
    assert c.stats()["compiles"] + c.stats()["disk_hits"] == 1

    result: dict = {}

    def slow_call():
        t0 = time.perf_counter()
        try:
            c.find(FWD, iters=100000, timeout_s=20)
            result["outcome"] = "ok"
        except DaemonUnavailable as e:
            result["outcome"] = e
        result["seconds"] = time.perf_counter() - t0

    t = threading.Thread(target=slow_call)
    t.start()
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=30)
    assert isinstance(result["outcome"], DaemonUnavailable), result
    assert result["seconds"] < 20
    assert Path(d / "daemon.sock").exists()  # stale socket left behind by the crash

    # Restart through autostart: same endpoint, same cache, nothing compiled.
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        c2 = BooClient(endpoint, timeout_s=20, compile_timeout_s=120, autostart=True)
        new_pid = c2.hello()["pid"]
    finally:
        # put back what was there (the session's hermetic BOO_CACHE_DIR), not just delete
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert new_pid != pid
    r = c2.compile(FWD)
    assert r["cache_hit"] and c2.stats()["compiles"] == 0
    args = sample(FWD)
    assert rel_err(c.run(FWD, *args), FWD, args) < 1e-5  # the old client reconnects by itself

    # SIGTERM while a call is in flight: the call completes, the daemon exits 0 and cleans up.
    t2 = threading.Thread(target=lambda: result.update(drained=c2.find(FWD, iters=2000, timeout_s=60)))
    t2.start()
    time.sleep(0.3)
    os.kill(new_pid, signal.SIGTERM)
    t2.join(timeout=60)
    assert result["drained"]["ok"]
    deadline = time.time() + 30
    while time.time() < deadline and Path(f"/proc/{new_pid}").exists():
        time.sleep(0.05)
    assert not Path(d / "daemon.sock").exists()
    assert not Path(f"{d}/daemon.sock.pid").exists()
    with pytest.raises(DaemonUnavailable):
        c.hello()
    c.close()
    c2.close()


def test_curve_tcp_requires_authorized_key():
    """A non-loopback TCP daemon with CURVE: an authorized client works, others are refused."""
    import zmq.auth

    d = short_dir("boo-c-")
    (d / "clients").mkdir()
    _, server_secret = zmq.auth.create_certificates(str(d), "server")
    _, client_secret = zmq.auth.create_certificates(str(d / "clients"), "client")
    endpoint = f"tcp://0.0.0.0:{free_port()}"
    cli("start", "--endpoint", endpoint, "--cache-dir", str(d / "cache"), "--workers", "1", "--no-prewarm",
        "--curve-secret-key-file", server_secret, "--curve-authorized-keys", str(d / "clients"), check=True)
    local = endpoint.replace("0.0.0.0", "127.0.0.1")
    try:
        with BooClient(local, timeout_s=10, curve_server_key=str(d / "server.key"),
                       curve_client_key_file=client_secret) as c:
            assert c.hello()["ok"]
        for kw in ({"curve_server_key": str(d / "server.key")}, {}):  # unknown key; plaintext
            with BooClient(local, timeout_s=5, **kw) as bad:
                with pytest.raises(DaemonUnavailable):
                    bad.hello()
    finally:
        cli("stop", "--endpoint", endpoint, env={"BOO_CURVE_SERVER_KEY": str(d / "server.key"),
                                                  "BOO_CURVE_CLIENT_KEY_FILE": client_secret})
