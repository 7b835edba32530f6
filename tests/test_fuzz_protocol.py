"""A seeded fuzz of the wire protocol: thousands of hostile headers against the parser and
validator (only ProtocolError may come out), then hundreds of hostile messages against a live
daemon (each gets an error reply; the daemon keeps serving correct results). Deep nesting,
wrong types everywhere, shared-memory names that belong to other files, frames that lie about
their sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import zmq

from boo_shim import protocol as P
from boo_shim.client import BooClient
from boo_shim.conv import ConvSignature
from boo_shim.errors import MIOpenStatus
from boo_shim.runtime import to_numpy

# The same signature as tests/test_daemon_hardening.py, whose daemon has it compiled.
SIG = ConvSignature(input_shape=[1, 2, 6, 5], kernel_shape=[3, 2, 3, 3], dtype="fp32", padding=1)
CODES = {int(v) for v in MIOpenStatus} - {0}
JUNK = [None, True, False, -1, 0, 1, 2**63, 2**80, -(2**70), 1.5, 1e308, -0.0, "", "x" * 300, "1", "f32",
        [], [1], [[[]]], {}, {"a": 1}, {"name": "boo-1-00"}, ["boo-1-00"], "../../etc/passwd"]


def valid_headers(nbytes_x: int, nbytes_w: int):
    x_shape, w_shape = SIG.arg_shapes
    inline = [{"dtype": "f32", "shape": list(x_shape), "inline": 0}, {"dtype": "f32", "shape": list(w_shape), "inline": 1}]
    return [
        (P.request_header("hello", 1, client={"pid": 1}), 0),
        (P.request_header("compile", 2, signature=SIG.as_dict(), strategy="auto"), 0),
        (P.request_header("compile", 3, signature=SIG.to_command()), 0),
        (P.request_header("run", 4, signature=SIG.as_dict(), inputs=inline), 2),
        (P.request_header("run", 5, signature=SIG.as_dict(), inputs=inline,
                          output={"shm": {"name": f"boo-{os.getpid()}-0011223344556677", "offset": 0, "nbytes": 64}}), 2),
        (P.request_header("find", 6, signature=SIG.as_dict(), iters=2, warmup=0), 0),
        (P.request_header("warm", 7, lines=[SIG.to_command(), "# x", SIG.as_dict()]), 0),
        (P.request_header("stats", 8), 0),
    ]


def nest(depth: int, rng) -> object:
    v: object = 1
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"k": v}
    return v


def mutate(h, rng):
    """Replace, delete or deepen a value somewhere in the header (any depth)."""
    h = json.loads(json.dumps(h))
    for _ in range(int(rng.integers(1, 4))):
        path = [h]
        node = h
        while isinstance(node, (dict, list)) and node and rng.random() < 0.6:
            key = (list(node)[int(rng.integers(0, len(node)))] if isinstance(node, dict)
                   else int(rng.integers(0, len(node))))
            path.append(key)
            node = node[key]
        if len(path) == 1:
            continue
        parent = h
        for key in path[1:-1]:
            parent = parent[key]
        key = path[-1]
        r = rng.random()
        if r < 0.15 and isinstance(parent, dict):
            del parent[key]
        elif r < 0.25:
            parent[key] = nest(int(rng.integers(20, 200)), rng)
        else:
            parent[key] = JUNK[int(rng.integers(0, len(JUNK)))]
    return h


def test_fuzz_parser_and_validator_raise_only_protocol_errors():
    rng = np.random.default_rng(15)
    bases = valid_headers(0, 0)
    n_ok = 0
    for i in range(3000):
        base, nframes = bases[i % len(bases)]
        kind = i % 10
        if kind == 0:  # raw bytes: random, truncated, deep brackets, huge numbers, constants
            choices = [rng.bytes(int(rng.integers(0, 200))), json.dumps(base).encode()[: int(rng.integers(0, 40))],
                       b"[" * int(rng.integers(1, 70000)), b"{\"v\":" + b"9" * 5000 + b"}", b"{\"v\":NaN}",
                       b"{\"v\":1,\"op\":\"hello\",\"id\":1e999}", "\udcff".encode("utf-8", "surrogatepass")]
            blob = choices[int(rng.integers(0, len(choices)))]
        else:
            blob = json.dumps(mutate(base, rng)).encode()
        if len(blob) > P.MAX_HEADER_BYTES + 10:
            blob = blob[: P.MAX_HEADER_BYTES + 10]
        try:
            h = P.decode_header(blob)
            P.validate_request(h, nframes if rng.random() < 0.8 else int(rng.integers(0, 20)))
            n_ok += 1
        except P.ProtocolError as e:
            assert e.status == MIOpenStatus.BadParm
    assert n_ok < 3000  # the fuzz does reach errors...
    assert P.validate_request(*bases[3])  # ...and the bases are valid


def test_fuzz_call_frame_decoders_raise_only_protocol_errors():
    """Binary call frames (inline and shared-memory kinds) and call replies: mutated good frames
    and random tails decode or raise ProtocolError, never anything else."""
    rng = np.random.default_rng(16)
    goods = [P.encode_call(3, 7, [b"abcd" * 4]), P.encode_shm_call(4, 9, "boo-12-0123abcd", [0, 64, 128]),
             P.shm_call_reply(5, 0.5, 20.0)]
    frame, view = P.call_reply_buffer(8)
    P.seal_call_reply(frame, 6, 0.25, 10.0)
    goods.append(bytes(frame))
    decoded = 0
    for i in range(4000):
        blob = bytearray(goods[i % len(goods)])
        for _ in range(int(rng.integers(0, 4))):
            op = int(rng.integers(0, 3))
            if op == 0 and blob:  # flip a byte
                blob[int(rng.integers(0, len(blob)))] = int(rng.integers(0, 256))
            elif op == 1:  # cut
                del blob[int(rng.integers(0, len(blob) + 1)):]
            else:  # append junk
                blob += rng.bytes(int(rng.integers(0, 40)))
        for decode in (P.decode_call, P.decode_shm_call, P.decode_call_reply):
            try:
                decode(bytes(blob))
                decoded += 1
            except P.ProtocolError:
                pass
    assert 0 < decoded < 12000


# ----------------------------------------------------------------------------- against a daemon
# `live_fuzz` runs in tests/test_daemon_hardening.py::test_fuzz_live_daemon, on that module's
# daemon (a daemon of its own here would double the cost of starting one).


def _other_segments():
    """Segments that exist but are not the requester's: another live process's, a file of ours
    with the wrong mode, one named like a client of a dead pid."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    made = []
    for name, mode in ((f"boo-{other.pid}-aaaaaaaaaaaaaaaa", 0o600), (f"boo-{os.getpid()}-bbbbbbbbbbbbbbbb", 0o666),
                       ("boo-shared-file", 0o600)):
        fd = os.open(f"/dev/shm/{name}", os.O_CREAT | os.O_RDWR | os.O_TRUNC, mode)
        os.ftruncate(fd, 1 << 16)
        os.close(fd)
        os.chmod(f"/dev/shm/{name}", mode)
        made.append(name)
    return other, made


def live_fuzz(daemon: dict, n: int = 600) -> None:
    """`n` hostile messages to the daemon at daemon["endpoint"] (pid daemon["pid"]): each gets a
    well-formed reply, nothing is written into segments that are not the requester's, and the
    same daemon then serves a correct result."""
    rng = np.random.default_rng(1515)
    x, w = [to_numpy(t) for t in SIG.get_sample_conv_args(seed=2)]
    other, segs = _other_segments()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 60000)
    sock.connect(daemon["endpoint"])
    bases = [b for b in valid_headers(x.nbytes, w.nbytes) if b[0]["op"] not in ("find", "warm", "compile")]
    try:
        sent = 0
        for i in range(n):
            base, nframes = bases[i % len(bases)]
            frames = [x.tobytes(), w.tobytes()][:nframes]
            kind = i % 6
            if kind == 0:
                h = mutate(base, rng)
            elif kind == 1:  # frames that lie about their sizes
                h = json.loads(json.dumps(bases[2][0]))
                frames = [x.tobytes()[: int(rng.integers(0, x.nbytes))], w.tobytes() + b"\0" * int(rng.integers(0, 9))]
                rng.shuffle(frames)
                frames = frames[: int(rng.integers(0, 4))]
            elif kind == 2:  # shared memory that is not the requester's, or out of its bounds
                name = [*segs, "boo-1-cccccccccccccccc", "/boo-x", "boo-" + "z" * 120][int(rng.integers(0, len(segs) + 3))]
                h = json.loads(json.dumps(bases[2][0]))
                spec = {"name": name, "offset": int(rng.choice([0, 1 << 15, 1 << 20, 2**40])), "nbytes": x.nbytes}
                h["inputs"][0] = {"dtype": "f32", "shape": list(x.shape), "shm": spec}
                h["inputs"][1]["inline"] = 0
                frames = [w.tobytes()]
                if rng.random() < 0.5:
                    h["output"] = {"shm": dict(spec, nbytes=int(np.prod(SIG.result_shape)) * 4)}
            elif kind == 3:  # deep nesting anywhere
                h = json.loads(json.dumps(base))
                h[["client", "signature", "inputs", "extra"][int(rng.integers(0, 4))]] = nest(int(rng.integers(33, 900)), rng)
            elif kind == 4:  # wrong types in the signature's fields
                h = json.loads(json.dumps(bases[2][0]))
                sig = h["signature"]
                key = list(sig)[int(rng.integers(0, len(sig)))]
                sig[key] = JUNK[int(rng.integers(0, len(JUNK)))]
            else:
                h = mutate(base, rng)
                frames = [rng.bytes(int(rng.integers(0, 64))) for _ in range(int(rng.integers(0, 3)))]
            blob = json.dumps(h).encode()
            if len(blob) > P.MAX_HEADER_BYTES:
                blob = b"[" * 60000
            sock.send_multipart([blob, *frames])
            reply = json.loads(sock.recv_multipart()[0])
            sent += 1
            if not reply["ok"]:
                assert reply["code"] in CODES and reply["reason"], reply
            assert reply["op"] in (None, *P.OPS)
        assert sent == n
        for name in segs:  # nothing was written into segments that are not the requester's
            assert Path(f"/dev/shm/{name}").read_bytes() == b"\0" * (1 << 16)
    finally:
        sock.close()
        other.kill()
        other.wait()
        for name in segs:
            Path(f"/dev/shm/{name}").unlink(missing_ok=True)
    with BooClient(daemon["endpoint"], timeout_s=60) as c:
        assert c.hello()["pid"] == daemon["pid"]
        got = c.run(SIG, x, w)
    import torch

    ref = SIG.get_nn_module()(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
