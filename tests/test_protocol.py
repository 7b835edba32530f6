"""The wire protocol: framing, header validation, errors, shared memory, endpoints (no daemon)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from multiprocessing import shared_memory

import numpy as np
import pytest

from boo_shim import protocol as P

from boo_shim import endpoints

from boo_shim import shm
from boo_shim.conv import ConvSignature
from boo_shim.errors import CompileError, MIOpenStatus, SignatureError, UnsupportedError

SIG = ConvSignature(input_shape=[1, 2, 5, 5], kernel_shape=[3, 2, 3, 3], dtype="fp32")


def run_header(**over):
    h = P.request_header(
        "run", 7, signature=SIG.to_command(),
        inputs=[{"dtype": "f32", "shape": [1, 2, 5, 5], "inline": 0},
                {"dtype": "f32", "shape": [3, 2, 3, 3], "inline": 1}],
    )
    h.update(over)
    return h


def test_encode_decode_roundtrip():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    msg = P.encode(P.request_header("hello", 1), [a, b"xy"])
    assert len(msg) == 3
    h = P.decode_header(msg[0])
    assert h == {"v": P.PROTOCOL_VERSION, "op": "hello", "id": 1}
    assert bytes(msg[1]) == a.tobytes()


@pytest.mark.parametrize("blob", [b"\xff\xfe", b"{not json", b"[1, 2]", b"42", b"", "é".encode("latin-1")])
def test_decode_rejects_garbage(blob):
    with pytest.raises(P.ProtocolError) as e:
        P.decode_header(blob)
    assert e.value.status == MIOpenStatus.BadParm


def test_header_size_limit():
    big = {"v": 1, "op": "hello", "id": 1, "pad": "x" * P.MAX_HEADER_BYTES}
    with pytest.raises(P.ProtocolError, match="limit"):
        P.encode(big)
    with pytest.raises(P.ProtocolError, match="limit"):
        P.decode_header(json.dumps(big).encode())


def test_valid_run_header():
    h = P.validate_request(run_header(), 2)
    assert [t.shape for t in h["inputs"]] == [(1, 2, 5, 5), (3, 2, 3, 3)]
    assert h["output"] is None
    out = {"shm": {"name": "boo-1-abc", "offset": 0, "nbytes": 108}}
    assert P.validate_request(run_header(output=out), 2)["output"] == P.ShmRef("boo-1-abc", 0, 108)


@pytest.mark.parametrize(
    "change, nframes, match",
    [
        ({"v": 2}, 2, "version"),
        ({"v": "1"}, 2, "version"),
        ({"op": "exec"}, 2, "op"),
        ({"id": -1}, 2, "id"),
        ({"id": "7"}, 2, "id"),
        ({"id": True}, 2, "id"),
        ({"extra": 1}, 2, "unknown field"),
        ({"signature": 12}, 2, "signature"),
        ({"inputs": []}, 0, "inputs"),
        ({"inputs": "x"}, 2, "inputs"),
        ({"inputs": [{"dtype": "f64", "shape": [1], "inline": 0}]}, 1, "dtype"),
        ({"inputs": [{"dtype": "f32", "shape": [1.5], "inline": 0}]}, 1, "shape"),
        ({"inputs": [{"dtype": "f32", "shape": [-1], "inline": 0}]}, 1, "shape"),
        ({"inputs": [{"dtype": "f32", "shape": [1] * 9, "inline": 0}]}, 1, "shape"),
        ({"inputs": [{"dtype": "f32", "shape": [1 << 39, 1 << 39], "inline": 0}]}, 1, "limit"),
        ({"inputs": [{"dtype": "f32", "shape": [4], "inline": 3}]}, 1, "out of range"),
        ({"inputs": [{"dtype": "f32", "shape": [4], "inline": 0, "shm": {}}]}, 1, "exactly one"),
        ({"inputs": [{"dtype": "f32", "shape": [4]}]}, 0, "exactly one"),
        ({"inputs": [{"dtype": "f32", "shape": [4], "shm": {"name": "../etc/passwd", "offset": 0, "nbytes": 16}}]},
         0, "segment name"),
        ({"inputs": [{"dtype": "f32", "shape": [4], "shm": {"name": "boo/x", "offset": 0, "nbytes": 16}}]},
         0, "segment name"),
        ({"inputs": [{"dtype": "f32", "shape": [4], "shm": {"name": "boo-x", "offset": -1, "nbytes": 16}}]},
         0, "offset"),
        ({"inputs": [{"dtype": "f32", "shape": [4], "shm": {"name": "boo-x", "offset": 0, "nbytes": 15}}]},
         0, "nbytes"),
        ({}, 3, "frames"),  # a frame no input uses
        ({}, 1, "out of range"),
        ({}, 17, "limit"),
        ({"output": {"shm": {"name": "x", "offset": 0, "nbytes": 1}}}, 2, "segment name"),
        ({"output": []}, 2, "output"),
    ],
)
def test_invalid_run_headers(change, nframes, match):
    with pytest.raises(P.ProtocolError, match=match) as e:
        P.validate_request(run_header(**change), nframes)
    assert e.value.status == MIOpenStatus.BadParm


def test_other_ops_validation():
    P.validate_request(P.request_header("hello", 1, client={"pid": 1}), 0)
    P.validate_request(P.request_header("stats", 1), 0)
    with pytest.raises(P.ProtocolError, match="no tensor frames"):
        P.validate_request(P.request_header("stats", 1), 1)
    with pytest.raises(P.ProtocolError, match="signature"):
        P.validate_request(P.request_header("compile", 1), 0)
    h = P.validate_request(P.request_header("find", 1, signature=SIG.as_dict()), 0)
    assert (h["iters"], h["warmup"]) == (10, 1)
    with pytest.raises(P.ProtocolError, match="iters"):
        P.validate_request(P.request_header("find", 1, signature="x", iters=0), 0)
    with pytest.raises(P.ProtocolError, match="strategy"):
        P.validate_request(P.request_header("compile", 1, signature="x", strategy="fastest"), 0)
    with pytest.raises(P.ProtocolError, match="lines"):
        P.validate_request(P.request_header("warm", 1, lines="conv"), 0)
    with pytest.raises(P.ProtocolError, match="lines"):
        P.validate_request(P.request_header("warm", 1, lines=[3]), 0)


def test_fuzzed_headers_never_crash():
    """Random corruptions of a valid header raise ProtocolError (or pass), nothing else."""
    rng = np.random.default_rng(0)
    junk = [None, -1, 2**70, 1.5, "", "x" * 100, [], {}, [1, "a"], {"a": 1}, True]
    base = run_header()
    for _ in range(2000):
        h = json.loads(json.dumps(base))
        for _ in range(rng.integers(1, 4)):
            target = h
            ins = h.get("inputs")
            if rng.random() < 0.5 and isinstance(ins, list) and ins and isinstance(ins[0], dict) and ins[0]:
                target = ins[0]
            if not target:
                continue
            key = list(target)[int(rng.integers(0, len(target)))]
            if rng.random() < 0.2:
                del target[key]
            else:
                target[key] = junk[int(rng.integers(0, len(junk)))]
        try:
            P.validate_request(h, int(rng.integers(0, 4)))
        except P.ProtocolError:
            pass


def test_error_roundtrip_keeps_class_and_status():
    cases = [
        (SignatureError("groups", "3 groups do not divide 4"), SignatureError, MIOpenStatus.BadParm),
        (UnsupportedError("int8"), UnsupportedError, MIOpenStatus.NotImplemented),
        (CompileError("iree-compile failed"), CompileError, MIOpenStatus.InternalError),
        (RuntimeError("boom"), P.DaemonError, MIOpenStatus.InternalError),
    ]
    for exc, cls, status in cases:
        reply = P.error_reply({"op": "run", "id": 3}, exc)
        assert reply["ok"] is False and reply["id"] == 3 and reply["code"] == int(status)
        back = P.error_from_reply(json.loads(json.dumps(reply)))
        assert isinstance(back, cls) and isinstance(back, P.DaemonError)
        assert back.status == status and str(exc) in str(back)
    assert P.error_reply({"id": "junk"}, "x")["id"] is None
    assert P.error_from_reply({"ok": False, "code": 999}).status == MIOpenStatus.UnknownError


def test_signature_wire_forms():
    assert P.signature_from_wire(P.signature_to_wire(SIG)) == SIG
    assert P.signature_from_wire(SIG.as_dict()) == SIG
    with pytest.raises(SignatureError):
        P.signature_from_wire({"input_shape": [1, 2, 5, 5]})
    with pytest.raises(SignatureError):
        P.signature_from_wire({"nonsense": 1})
    with pytest.raises(SignatureError):
        P.signature_from_wire({**SIG.as_dict(), "groups": "two"})
    with pytest.raises(P.ProtocolError):
        P.signature_from_wire(["conv"])
    with pytest.raises(P.ProtocolError):
        P.signature_from_wire("conv " * 5000)


def test_dtypes():
    import ml_dtypes
    import torch

    assert P.dtype_to_wire(np.float32) == "f32"
    assert P.dtype_to_wire(torch.bfloat16) == "bf16"
    assert P.dtype_from_wire("bf16") == np.dtype(ml_dtypes.bfloat16)
    assert P.tensor_nbytes("f16", [2, 3]) == 12
    with pytest.raises(P.ProtocolError):
        P.dtype_to_wire(np.int8)


def test_shm_attach_does_not_adopt_segment():
    """A process that merely attaches must not unlink the segment when it exits."""
    seg = shared_memory.SharedMemory(name=f"boo-test-{os.getpid()}", create=True, size=4096)
    try:
        seg.buf[:4] = b"abcd"
        code = (
            "from boo_shim.protocol import ShmRef; from boo_shim.shm import ShmAttachments\n"
            f"a = ShmAttachments(); tok, mv = a.acquire(ShmRef({seg.name!r}, 0, 4))\n"
            "assert bytes(mv) == b'abcd'; mv[:] = b'wxyz'; mv.release(); a.release(tok); a.close()\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        again = shared_memory.SharedMemory(name=seg.name)  # still there
        assert bytes(again.buf[:4]) == b"wxyz"
        again.close()
    finally:
        seg.close()
        seg.unlink()


def test_shm_attachments_bounds_and_missing():
    seg = shared_memory.SharedMemory(name=f"boo-test2-{os.getpid()}", create=True, size=4096)
    try:
        att = shm.ShmAttachments(capacity=1)
        with pytest.raises(P.ProtocolError, match="past the segment"):
            att.acquire(P.ShmRef(seg.name, 4000, 200))
        with pytest.raises(P.ProtocolError, match="does not exist"):
            att.acquire(P.ShmRef("boo-does-not-exist-123", 0, 4))
        tok, mv = att.acquire(P.ShmRef(seg.name, 8, 8))
        assert len(mv) == 8
        # The attach unregistered the name from this process's tracker; we created it, so we
        # register it again for our own unlink below.
        from multiprocessing import resource_tracker

        resource_tracker.register(seg._name, "shared_memory")
        mv.release()
        att.release(tok)
        att.close()
    finally:
        seg.close()
        seg.unlink()


def test_endpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("BOO_ENDPOINT", raising=False)
    ep = endpoints.default_endpoint()
    assert ep == f"ipc://{tmp_path}/boo/daemon.sock"
    assert stat.S_IMODE(os.stat(tmp_path / "boo").st_mode) == 0o700
    os.chmod(tmp_path / "boo", 0o755)
    endpoints.default_endpoint()
    assert stat.S_IMODE(os.stat(tmp_path / "boo").st_mode) == 0o700  # tightened again
    monkeypatch.setenv("BOO_ENDPOINT", "tcp://127.0.0.1:5555")
    assert endpoints.default_endpoint() == "tcp://127.0.0.1:5555"
    assert endpoints.is_loopback_endpoint("tcp://127.0.0.1:1") and endpoints.is_loopback_endpoint("tcp://localhost:1")
    assert endpoints.is_loopback_endpoint("tcp://[::1]:1") and endpoints.is_loopback_endpoint("ipc:///x")
    assert not endpoints.is_loopback_endpoint("tcp://0.0.0.0:1") and not endpoints.is_loopback_endpoint("tcp://*:1")
    assert not endpoints.is_loopback_endpoint("tcp://10.1.2.3:1")
    assert endpoints.endpoint_state_path("ipc:///tmp/x/d.sock", ".lock").name == "d.sock.lock"


# ----------------------------------------------------------------------------- issue 15, unit level
@pytest.mark.parametrize("blob", [b"[" * 60000, b'{"v":1,"x":' + b"[" * 40 + b"]" * 40 + b"}", b'{"v":NaN}',
                                  b'{"v":Infinity}'])
def test_decode_bounds_depth_and_rejects_constants(blob):
    with pytest.raises(P.ProtocolError):
        P.decode_header(blob)
    # Brackets inside strings are not nesting.
    assert P.decode_header(json.dumps({"v": 1, "s": "[" * 5000}).encode())["s"] == "[" * 5000


@pytest.mark.parametrize("v", [True, 1.0, "1", None])
def test_version_must_be_the_integer(v):
    with pytest.raises(P.ProtocolError, match="version"):
        P.validate_request({"v": v, "op": "hello", "id": 1}, 0)


def test_client_segments_private_and_unlinked_only_by_creator():
    seg = shm.ShmSegment.create(1000)
    path = f"/dev/shm/{seg.name}"
    try:
        assert P.SHM_CLIENT_RE.match(seg.name) and seg.name.startswith(f"boo-{os.getpid()}-")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        other = shm.ShmSegment.attach(seg.name, peer_pid=os.getpid())
        other.buf[:3] = b"abc"
        assert bytes(seg.buf[:3]) == b"abc"
        other.unlink()  # an attacher never unlinks
        assert os.path.exists(path)
        other.close()
        with pytest.raises(P.ProtocolError, match="not created by"):
            shm.ShmSegment.attach(seg.name, peer_pid=os.getpid() + 1)
    finally:
        seg.unlink()
        seg.close()
    assert not os.path.exists(path)


def test_exit_unlinks_segments_without_tracker():
    code = ("from boo_shim import shm\n"
            "s = shm.ShmSegment.create(4096); print(s.name, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "leaked" not in proc.stderr, proc.stderr
    assert not os.path.exists(f"/dev/shm/{proc.stdout.strip()}")


def test_sweep_removes_only_dead_creators_segments(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = [f"boo-{dead.pid}-00aa00aa00aa00aa", f"boo-{os.getpid()}-00bb00bb00bb00bb", "boo-other-file"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    assert shm.sweep_orphan_segments(tmp_path) == [names[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])


def test_state_files_never_follow_links(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "d.sock.log").symlink_to(victim)
    with pytest.raises(P.DaemonUnavailable, match="did not make"):
        endpoints.check_state_dir(tmp_path, "d.sock")
    with pytest.raises(P.DaemonUnavailable, match="symbolic link"):
        endpoints.open_private(tmp_path / "d.sock.log", os.O_WRONLY | os.O_APPEND)
    fd = endpoints.open_private(tmp_path / "d.sock.log", os.O_WRONLY, exclusive=True)  # replaces the link itself
    os.close(fd)
    assert victim.read_text() == "keep" and not (tmp_path / "d.sock.log").is_symlink()
