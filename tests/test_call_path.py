"""The hot call path: plans registered once, then one binary frame a call (issue #16).

The fast path must give exactly what the slow paths give (the JSON `run` op through shared
memory, and the kernel in this process), survive hostile call frames, re-register plans a
daemon no longer holds (restart, eviction) without the caller noticing, and stay correct with
many threads and several processes calling at once.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import zmq

from boo_shim import protocol as P
from boo_shim.client import BooClient, DaemonError
from boo_shim.conv import ConvSignature
from boo_shim.errors import MIOpenStatus, SignatureError
from boo_shim.runtime import LOADED

from daemon_helpers import cleanup_short_dirs, cli, sample_inputs, short_dir, start_daemon  # noqa: E402,F401

PY = sys.executable
# Tiny signatures of their own (small enough for the daemon's inline path), plus one whose
# kernel is too big for it (it runs on the call pool); every direction and dtype.
TINY = ConvSignature(input_shape=[1, 3, 6, 5], kernel_shape=[2, 3, 3, 3], dtype="fp32", padding=1)
SIGS = [
    TINY,
    TINY.with_mode("bwd"),
    TINY.with_mode("wrw"),
    ConvSignature(input_shape=[2, 4, 5, 5], kernel_shape=[4, 2, 3, 3], dtype="fp16", groups=2, stride=2),
    ConvSignature(input_shape=[1, 5, 5, 4], kernel_shape=[3, 3, 3, 4], dtype="bf16", shared_layout="NHWC", dilation=2),
    ConvSignature(input_shape=[1, 16, 24, 24], kernel_shape=[16, 16, 3, 3], dtype="fp32", padding=1),  # 2 GFLOP/s scale
]


@pytest.fixture(scope="module")
def daemon():
    d = short_dir("boo-cp-")
    endpoint = start_daemon(d)
    yield {"endpoint": endpoint, "dir": d}
    cli("stop", "--endpoint", endpoint, timeout=60)


@pytest.fixture
def client(daemon):
    c = BooClient(daemon["endpoint"], timeout_s=60, compile_timeout_s=300)
    yield c
    c.close()


def raw_socket(endpoint):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 30000)
    s.connect(endpoint)
    return s


# ----------------------------------------------------------------------------- the same answers
@pytest.mark.parametrize("sig", SIGS, ids=lambda s: s.func_name[:60])
def test_fast_path_matches_slow_paths(client, daemon, sig):
    """Plan call == JSON run through shared memory == the kernel in this process, bit for bit
    (the same vmfb on the same CPU), for two different inputs in a row (buffers imported once
    must see new data)."""
    client.compile(sig)
    kernel = LOADED.get(sig, "cpu", cache_dir=daemon["dir"] / "cache")  # the daemon's vmfb
    for seed in (0, 1):
        args = sample_inputs(sig, seed)
        fast = client.run(sig, *args)
        slow = client.run(sig, *args, use_shm=True)
        here = kernel.run(*args)
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(fast, here)
    assert len(client._plans) >= 1


def test_plans_are_shared_and_named_by_content(client, daemon):
    other = BooClient(daemon["endpoint"], timeout_s=60, compile_timeout_s=300)
    try:
        args = sample_inputs(TINY)
        client.run(TINY, *args)
        other.run(TINY.to_command(), *args)  # the same signature, named differently
        ids = {p.plan_id for p in client._plans.values()} & {p.plan_id for p in other._plans.values()}
        assert ids, "two clients asking for one signature should get one plan"
        fast_id = other.request("plan", {"signature": TINY.as_dict(), "strategy": "fast"})[0]["plan"]
        assert fast_id not in ids  # another strategy is another kernel
    finally:
        other.close()


def test_wrong_tensors_are_refused_before_sending(client):
    args = sample_inputs(TINY)
    with pytest.raises(SignatureError, match="tensor 0"):
        client.run(TINY, args[0][:, :1], args[1])
    with pytest.raises(SignatureError, match="tensor 1"):
        client.run(TINY, args[0], args[1].astype(np.float16))
    np.testing.assert_array_equal(client.run(TINY, *args), client.run(TINY, *args, use_shm=True))


# ----------------------------------------------------------------------------- plans that go away
def test_restarted_daemon_unknown_plan_is_registered_again():
    d = short_dir("boo-cr-")
    endpoint = start_daemon(d)
    c = BooClient(endpoint, timeout_s=60, compile_timeout_s=300)
    try:
        args = sample_inputs(TINY)
        first = c.run(TINY, *args)
        old = next(iter(c._plans.values())).plan_id
        cli("stop", "--endpoint", endpoint, timeout=60, check=True)
        start_daemon(d)
        # the new daemon never hands out the old id, and the client re-registers by itself
        np.testing.assert_array_equal(c.run(TINY, *args), first)
        new = next(iter(c._plans.values())).plan_id
        assert new != old
        s = raw_socket(endpoint)
        s.send(P.encode_call(7, old, P.frame_buffers(args)))
        reply = P.decode_header(s.recv())
        assert reply["id"] == 7 and reply["error"] == "UnknownPlan" and reply["code"] == MIOpenStatus.NotInitialized
        s.close()
    finally:
        c.close()
        cli("stop", "--endpoint", endpoint, timeout=60)


def test_evicted_plans_come_back():
    """A daemon holding 2 kernels, called round-robin with 4 signatures: every call evicts a plan
    that a later call names, and every answer is still right."""
    d = short_dir("boo-ce-")
    endpoint = start_daemon(d, "--kernel-capacity", "2")
    sigs = [TINY, TINY.with_mode("bwd"), TINY.with_mode("wrw"), SIGS[3]]
    c = BooClient(endpoint, timeout_s=60, compile_timeout_s=300)
    try:
        want = {s: c.run(s, *sample_inputs(s), use_shm=True) for s in sigs}
        for _ in range(3):
            for s in sigs:
                np.testing.assert_array_equal(c.run(s, *sample_inputs(s)), want[s])
        assert c.stats()["loaded_kernels"] <= 2
    finally:
        c.close()
        cli("stop", "--endpoint", endpoint, timeout=60)


# ----------------------------------------------------------------------------- hostile call frames
def test_bad_call_frames_get_errors_and_the_daemon_goes_on(client, daemon):
    args = sample_inputs(TINY)
    client.run(TINY, *args)
    plan = next(p for p in client._plans.values())
    good = P.encode_call(1, plan.plan_id, P.frame_buffers(args))
    s = raw_socket(daemon["endpoint"])
    rng = np.random.default_rng(16)
    cases = [
        [good[:10]],  # shorter than the header
        [good[:24]],  # no inputs
        [good[:-4]],  # 4 bytes short
        [good + b"xxxx"],  # 4 bytes over
        [good, b"extra frame"],
        [b"BOOc" + bytes([9]) + good[5:]],  # protocol version 9
        [good[:5] + bytes([2]) + good[6:]],  # a reply's kind
        [good[:6] + b"\x01\x00" + good[8:]],  # flags
        [P.encode_call(2, 0, P.frame_buffers(args))],  # plan 0
        [P.encode_call(3, (1 << 62) + 12345, P.frame_buffers(args))],  # nobody's plan
    ]
    for _ in range(200):  # random bytes after the magic, random lengths
        cases.append([b"BOOc" + rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()])
    for frames in cases:
        s.send_multipart(frames)
        reply = P.decode_header(s.recv())
        assert reply["ok"] is False and reply["code"] in {int(v) for v in MIOpenStatus} - {0}, reply
    # a good frame on the same socket still works, and the daemon answers everyone else
    s.send(good)
    header, result = P.decode_call_reply(s.recv())
    assert header["id"] == 1
    np.testing.assert_array_equal(np.frombuffer(result, np.float32).reshape(TINY.result_shape),
                                  client.run(TINY, *args, use_shm=True))
    s.close()
    assert client.hello()["ok"]


def test_call_header_codec():
    frame = P.encode_call(5, 9, [b"ab", memoryview(b"cd")])
    rid, plan, payload = P.decode_call(frame)
    assert (rid, plan, bytes(payload)) == (5, 9, b"abcd") and P.is_call(frame) and not P.is_call(b'{"v":1}')
    reply, view = P.call_reply_buffer(3)
    view[:] = b"xyz"
    P.seal_call_reply(reply, 5, 0.25, 80.0)
    header, result = P.decode_call_reply(bytes(reply))
    assert header == {"v": 1, "op": "call", "id": 5, "ok": True, "kernel_ms": 0.25, "daemon_us": 80.0}
    assert bytes(result) == b"xyz"
    for bad in (frame[:23], b"BOOC" + frame[4:], frame[:4] + b"\x02" + frame[5:]):
        with pytest.raises(P.ProtocolError):
            P.decode_call(bad)
    nan = bytearray(reply)
    P.seal_call_reply(nan, 5, float("nan"), 1.0)
    with pytest.raises(P.ProtocolError, match="finite"):
        P.decode_call_reply(bytes(nan))


# ----------------------------------------------------------------------------- many callers
def test_many_threads_share_one_client(client):
    sigs = [TINY, TINY.with_mode("bwd"), SIGS[3]]
    want = {}
    for s in sigs:
        for seed in range(3):
            want[(s, seed)] = client.run(s, *sample_inputs(s, seed), use_shm=True)
    errors = []

    def work(k):
        try:
            for i in range(30):
                s, seed = sigs[(k + i) % len(sigs)], (k * 7 + i) % 3
                np.testing.assert_array_equal(client.run(s, *sample_inputs(s, seed)), want[(s, seed)])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[0]


CALLER = r"""
import sys, numpy as np
from boo_shim.client import BooClient
from boo_shim.conv import ConvSignature
from boo_shim.runtime import to_numpy
sig = ConvSignature.from_command(sys.argv[2])
args = [to_numpy(t) for t in sig.get_sample_conv_args(seed=3)]
with BooClient(sys.argv[1], timeout_s=60, compile_timeout_s=300) as c:
    want = c.run(sig, *args, use_shm=True)
    print("ready", flush=True)
    n = int(sys.argv[3])
    for i in range(n if n > 0 else 10**9):
        assert np.array_equal(c.run(sig, *args), want)
print("ok", flush=True)
"""


def test_several_processes_and_one_killed_mid_call(daemon, client):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmds = [TINY.to_command(), TINY.with_mode("wrw").to_command()]
    procs = [subprocess.Popen([PY, "-c", CALLER, daemon["endpoint"], cmd, "150"], stdout=subprocess.PIPE, text=True,
                              env=env) for cmd in cmds]
    victim = subprocess.Popen([PY, "-c", CALLER, daemon["endpoint"], cmds[0], "0"], stdout=subprocess.PIPE, text=True,
                              env=env)
    assert victim.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)  # in the middle of its stream of calls
    victim.wait(10)
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip().endswith("ok"), out
    args = sample_inputs(TINY)
    np.testing.assert_array_equal(client.run(TINY, *args), client.run(TINY, *args, use_shm=True))
    st = client.stats()
    assert st["clients_busy"] <= 1 and st["queued"] == 0


def test_errors_from_the_fast_path_keep_their_class(client, daemon):
    """A call naming a plan the daemon never made is an UnknownPlan (and a DaemonError), with
    MIOpen's status, on the call channel and on the ZeroMQ socket; both go on."""
    from boo_shim.client import _PlanInfo

    for channel in (P.channel_path(daemon["endpoint"]), None):
        plan = _PlanInfo((1 << 62) + 99, [(3,)], np.dtype(np.float32))
        plan.channel = channel
        with pytest.raises(P.UnknownPlan) as e:
            client._call(plan, [np.zeros(3, np.float32)], 30, None)
        assert isinstance(e.value, DaemonError) and e.value.status == MIOpenStatus.NotInitialized
        assert client.hello()["ok"]
    args = sample_inputs(TINY)
    np.testing.assert_array_equal(client.run(TINY, *args), client.run(TINY, *args, use_shm=True))


@functools.cache
def _random_signature():
    """bench/compile_sweep.py's seeded generator of random valid small signatures (1D/2D/3D,
    every dtype, mixed layouts, groups and depthwise, stride, dilation, padding, transposed,
    bias), loaded from the benchmark rather than written twice."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "compile_sweep.py"
    spec = importlib.util.spec_from_file_location("boo_compile_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.random_signature


@pytest.mark.parametrize("index", range(10))
def test_seeded_random_signatures_through_plans(client, index):
    """A seeded sweep: each signature through the hot call, against the JSON run through shared
    memory (bit for bit) and a float64 reference (MIOpen's metric and tolerance)."""
    from boo_shim.numerics import TOLERANCES, miopen_error, reference
    from boo_shim.runtime import to_torch

    sig = _random_signature()(3, index)  # seed 3: every direction, groups, depthwise, a bias
    args = sample_inputs(sig, seed=index)
    fast = client.run(sig, *args)
    np.testing.assert_array_equal(fast, client.run(sig, *args, use_shm=True))
    ref = reference(sig, [to_torch(np.ascontiguousarray(a)) for a in args])
    assert miopen_error(to_torch(np.ascontiguousarray(fast)), ref) <= TOLERANCES[sig.dtype], sig.to_command()
    assert client.known_plan(sig) is not None  # it went as a hot call
