"""`BooClient`: the Python client of the boo daemon.

    from boo_shim.client import BooClient
    with BooClient() as c:                   # BOO_ENDPOINT or the default ipc socket
        c.hello()
        y = c.run(sig, x, w)                 # numpy in (signature's layout/dtype), numpy out

Every request has a timeout (`timeout_s`, env `BOO_CLIENT_TIMEOUT`, default 30 s; compile-like
requests use `compile_timeout_s`, env `BOO_CLIENT_COMPILE_TIMEOUT`, default 600 s). A daemon
that is not there, dies mid-call, or does not answer in time raises `DaemonUnavailable` (or
its subclass `DaemonTimeout`); the next request uses a fresh socket, so a restarted daemon is
picked up without any action. Errors the daemon reports raise `DaemonError`s that are also
instances of boo's own classes (`SignatureError`, `UnsupportedError`, `CompileError`) and carry
the MIOpen status in `.status`.

Thread-safe: each thread gets its own DEALER socket (and its own shared-memory segment), so
threads do not wait for each other. `BOO_DAEMON_AUTOSTART=1` starts `boo-daemon` on the
endpoint when none answers.
"""

from __future__ import annotations

import itertools
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Iterable, Sequence

import numpy as np
import zmq

from . import config
from . import protocol as P
from . import endpoints
from . import shm
from .errors import SignatureError
from .protocol import DaemonError, DaemonTimeout, DaemonUnavailable, ProtocolError
from .sig_info import signature_info, wire_form

__all__ = ["BooClient", "DaemonError", "DaemonUnavailable", "DaemonTimeout", "ProtocolError",
           "DEFAULT_TIMEOUT_S", "DEFAULT_COMPILE_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_COMPILE_TIMEOUT_S = 600.0
# May compile first; a call never does, but may be a big kernel queued behind others.
_COMPILE_OPS = ("compile", "plan", "run", "find", "warm", P.CALL_OP)
MAX_PLANS = 4096  # plan ids this client remembers (the daemon holds fewer; extra ids just miss)
_ALIGN = 64




def _load_key(value: str) -> bytes:
    """A z85 key given inline (40 chars) or as a zmq certificate file path."""
    if len(value) == 40 and not os.path.exists(value):
        return value.encode()
    from zmq.auth import load_certificate

    public, _secret = load_certificate(value)
    return public


class _ShmSegment:
    """A per-thread segment the client owns: created private (0600, `boo-<pid>-<hex>`), reused,
    and unlinked on growth, on close and at interpreter exit (`shm.ShmSegment`). It is never
    registered with multiprocessing's resource_tracker, so no tracker process outlives us and no
    "leaked shared_memory" warning is printed; a client killed before it could unlink is cleaned
    up by the daemon, which unlinks segments whose creator is dead."""

    def __init__(self):
        self.seg: shm.ShmSegment | None = None

    def ensure(self, nbytes: int) -> shm.ShmSegment:
        if self.seg is None or self.seg.size < nbytes:
            self.close()
            size = max(1 << 20, 1 << (max(nbytes, 1) - 1).bit_length())
            self.seg = shm.ShmSegment.create(size)
        return self.seg

    def close(self) -> None:
        if self.seg is not None:
            seg, self.seg = self.seg, None
            seg.unlink()
            seg.close()


class _Conn:
    """One thread's DEALER socket plus a monitor that tells a dead peer from a slow one."""

    def __init__(self, ctx: zmq.Context, endpoint: str, curve: tuple | None):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 100)
        if curve:
            server_key, public, secret = curve
            self.sock.curve_serverkey = server_key
            self.sock.curve_publickey = public
            self.sock.curve_secretkey = secret
        self.mon = self.sock.get_monitor_socket(
            zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED
            | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_SUCCEEDED
        )
        self.sock.connect(endpoint)
        self.poller = zmq.Poller()
        self.poller.register(self.sock, zmq.POLLIN)
        self.poller.register(self.mon, zmq.POLLIN)
        self.connected = False
        self.problem: str | None = None  # why the peer looks gone, if it does
        self.shm = _ShmSegment()
        self.channel: _Channel | None = None  # this thread's call channel (protocol.py)
        self.channel_served = False  # a reply came on it
        self.channel_off = False  # it failed: this connection sticks to the ZeroMQ socket

    def open_channel(self, path: str, timeout_s: float) -> "_Channel | None":
        if self.channel is None and not self.channel_off:
            try:
                self.channel, self.channel_served = _Channel(path, timeout_s), False
            except OSError:
                self.channel_off = True
        return self.channel

    def drop_channel(self, lost: bool = False) -> None:
        """Close the channel. One `lost` after serving calls (a daemon restarted) is opened
        again by the next call; any other failure leaves this connection on ZeroMQ."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        self.channel_off = not (lost and self.channel_served)

    def read_events(self) -> None:
        from zmq.utils.monitor import recv_monitor_message

        while True:
            try:
                ev = recv_monitor_message(self.mon, zmq.NOBLOCK)
            except zmq.Again:
                return
            e = ev["event"]
            if e in (zmq.EVENT_CONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED):
                self.connected, self.problem = True, None
            elif e == zmq.EVENT_DISCONNECTED:
                # A refused handshake is followed by a disconnect: keep the more telling reason.
                if not (self.problem and "handshake" in self.problem):
                    self.problem = "the connection to the daemon was lost"
                self.connected = False
            elif e == zmq.EVENT_CONNECT_RETRIED:
                self.connected, self.problem = False, "nothing accepts connections at the endpoint"
            elif e & (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                      | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                self.connected, self.problem = False, ("the daemon refused the handshake (a CURVE key it does "
                                                       "not accept, another user, or too many connections)")

    def close(self) -> None:
        try:
            self.sock.disable_monitor()
        except zmq.ZMQError:
            pass
        self.mon.close(linger=0)
        self.sock.close(linger=0)
        self.shm.close()
        if self.channel is not None:
            self.channel.close()


class BooClient:
    """A connection to one boo daemon. Safe to share between threads."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout_s: float | None = None,
        compile_timeout_s: float | None = None,
        shm_threshold: int | None = None,
        autostart: bool | None = None,
        curve_server_key: str | bytes | None = None,
        curve_client_key_file: str | None = None,
    ):
        self._endpoint_problem: str | None = None
        try:
            self.endpoint = endpoint or endpoints.default_endpoint()
        except DaemonUnavailable as e:
            # e.g. a dangling symlink where the runtime directory should be. Reported by the
            # first request, as a DaemonUnavailable like any other absent daemon, so that
            # callers (the shim) that catch it there fall back instead of failing to construct.
            self.endpoint, self._endpoint_problem = "ipc://(no usable runtime directory)", str(e)
        self.timeout_s = timeout_s if timeout_s is not None else config.client_timeout_s(DEFAULT_TIMEOUT_S)
        self.compile_timeout_s = (compile_timeout_s if compile_timeout_s is not None
                                  else config.client_compile_timeout_s(DEFAULT_COMPILE_TIMEOUT_S))
        self.shm_threshold = (shm_threshold if shm_threshold is not None
                              else config.shm_threshold(P.DEFAULT_SHM_THRESHOLD))
        self.autostart = autostart if autostart is not None else config.daemon_autostart()
        self.spin_s = config.spin_us() * 1e-6  # poll for a call's reply this long before sleeping
        self._curve_problem: str | None = None
        self._curve_args = (curve_server_key, curve_client_key_file)
        self._curve = self._curve_keys(*self._curve_args)
        self._ctx = zmq.Context()
        self._local = threading.local()
        self._conns: list[_Conn] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._plans: dict[tuple, _PlanInfo] = {}  # (signature key, strategy) -> the daemon's plan
        self._closed = False
        self._pid = os.getpid()  # a forked child starts afresh (`_conn`)
        # Shared memory only over ipc: there the daemon knows the peer's pid (SO_PEERCRED) and
        # serves only segments that process created; a tcp peer has no such credentials.
        self.shm_possible = self.endpoint.startswith("ipc://")
        self._channel_path = P.channel_path(self.endpoint)  # where the daemon's call channel would be

    def _curve_keys(self, server_key, client_file) -> tuple | None:
        """CURVE keys for a tcp endpoint: explicit ones, else the owner's key directory
        (`endpoints.curve_dir()`, written by the daemon). None for ipc."""
        server_key = server_key or config.curve_server_key()
        client_file = client_file or config.curve_client_key_file()
        own = endpoints.find_curve_keys() if self.endpoint.startswith("tcp://") else None
        if not server_key:
            if not self.endpoint.startswith("tcp://"):
                return None
            if own is None:
                # Every tcp daemon requires CURVE; without keys no request could succeed.
                self._curve_problem = (f"a tcp endpoint needs CURVE keys and none are in {endpoints.curve_dir()} "
                                       "(a daemon started by this user writes them there; or set "
                                       "BOO_CURVE_SERVER_KEY and BOO_CURVE_CLIENT_KEY_FILE)")
                return None
            server = own[0]
        else:
            server = server_key if isinstance(server_key, bytes) else _load_key(server_key)
        if client_file:
            from zmq.auth import load_certificate

            public, secret = load_certificate(client_file)
            if not secret:
                raise ValueError(f"{client_file}: no secret key in it")
        elif own is not None:
            public, secret = own[1], own[2]
        else:
            public, secret = zmq.curve_keypair()
        return server, public, secret

    # ------------------------------------------------------------------ plumbing
    def _conn(self) -> _Conn:
        if os.getpid() != self._pid:
            self._forked()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise DaemonUnavailable("this BooClient is closed")
            conn = _Conn(self._ctx, self.endpoint, self._curve)
            with self._lock:
                self._conns.append(conn)
            self._local.conn = conn
        return conn

    def _forked(self) -> None:
        """In a forked child: the parent's sockets are not ours. A ZeroMQ context does not
        survive a fork, and a call channel shared with the parent would mix both processes'
        replies (request ids included: the child's counter continues the parent's). So new
        ones, and request ids no reply to the parent's could carry. Plans stay valid."""
        with self._lock:
            inherited, self._conns = self._conns, []
            for conn in inherited:
                if conn.channel is not None:
                    conn.channel.close()  # the child's copy of the descriptor only
            self._ctx = zmq.Context()
            self._local = threading.local()
            self._ids = itertools.count((os.getpid() << 40) + 1)
            self._pid = os.getpid()

    def _reset(self) -> None:
        """Drop this thread's socket: the next request connects afresh (late replies to the old
        socket can never be mistaken for new ones)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.close()

    def _check_present(self) -> None:
        if self._endpoint_problem:
            raise DaemonUnavailable(self._endpoint_problem)
        if self._curve_problem:
            raise DaemonUnavailable(f"boo daemon at {self.endpoint}: {self._curve_problem}")
        sock = endpoints.ipc_path(self.endpoint)
        if sock is not None and not sock.exists():
            raise DaemonUnavailable(f"no boo daemon at {self.endpoint} (socket file missing); start one with "
                                    "`boo-daemon start`")

    def _check_if_unconnected(self) -> None:
        """`_check_present` unless this thread's socket is connected: its stat() and path work
        cost tens of µs a call on a small VM, and a daemon that goes away shows up as a
        disconnect on the socket's monitor anyway."""
        conn = getattr(self._local, "conn", None)
        if conn is None or not conn.connected:
            self._check_present()

    def request(self, op: str, fields: dict | None = None, frames: Sequence = (), *,
                timeout_s: float | None = None, timings: dict | None = None) -> tuple[dict, list]:
        """Send one request and wait for its reply: (reply header, reply tensor frames as
        zmq.Frame). Raises the daemon's error, DaemonUnavailable or DaemonTimeout."""
        try:
            return self._request(op, fields, frames, timeout_s, timings)
        except DaemonUnavailable:
            if not self.autostart or op == "shutdown" or self._endpoint_problem:
                raise
            self.start_daemon()
            return self._request(op, fields, frames, timeout_s)

    def _request(self, op, fields, frames, timeout_s, timings=None) -> tuple[dict, list]:
        self._check_if_unconnected()
        rid = next(self._ids)
        t_encode = time.perf_counter()
        msg = P.encode(P.request_header(op, rid, **(fields or {})), frames)
        return self._exchange(msg, rid, op, timeout_s, timings, t_encode)

    def _call(self, plan: "_PlanInfo", arrays: Sequence[np.ndarray], timeout_s, timings) -> tuple[dict, list]:
        """One hot call of a registered plan: binary header + the inputs' bytes, on this
        thread's call channel where the daemon has one, else on its ZeroMQ socket."""
        rid = next(self._ids)
        t_encode = time.perf_counter()
        frame = P.encode_call(rid, plan.plan_id, arrays)  # C-contiguous arrays join as they are
        if plan.channel is not None and len(frame) <= P.CHANNEL_MAX_FRAME:
            conn = self._conn()
            chan = conn.open_channel(plan.channel, timeout_s or self.timeout_s)
            if chan is not None:
                try:
                    return self._channel_exchange(conn, chan, frame, rid, timeout_s, timings, t_encode)
                except _ChannelLost:
                    pass  # the ZeroMQ socket tells what happened (a dead or restarted daemon)
        self._check_if_unconnected()
        return self._exchange([frame], rid, P.CALL_OP, timeout_s, timings, t_encode)

    def _channel_exchange(self, conn: _Conn, chan: "_Channel", frame: bytes, rid: int, timeout_s, timings,
                          t_encode: float, spin: bool = True) -> tuple[dict, list]:
        t_sent = time.perf_counter()
        try:
            reply = chan.exchange(frame, timeout_s or self.timeout_s, self.spin_s if spin else 0.0)
        except socket.timeout:
            conn.drop_channel()
            raise DaemonTimeout(f"no reply from the boo daemon at {self.endpoint} to a call within "
                                f"{timeout_s or self.timeout_s:g} s") from None
        except BaseException as e:  # a closed connection, or an interrupt that leaves it mid-frame
            lost = isinstance(e, (OSError, EOFError))
            conn.drop_channel(lost=lost)
            if lost:
                raise _ChannelLost() from None
            raise
        t_reply = time.perf_counter()
        conn.channel_served = True
        if P.is_call(reply):
            header, result = P.decode_call_reply(reply)
            parts = [result]
        else:
            header, parts = P.decode_header(reply), []
        if timings is not None:
            timings["encode_us"] = (t_sent - t_encode) * 1e6
            timings["transport_us"] = (t_reply - t_sent) * 1e6
            timings["decode_us"] = (time.perf_counter() - t_reply) * 1e6
        if header.get("id") not in (rid, None):
            conn.drop_channel()
            raise ProtocolError(f"call channel: a reply to request {header.get('id')} came for {rid}")
        if not header.get("ok"):
            raise P.error_from_reply(header)
        return header, parts

    def _plan(self, key: tuple, wire, strategy: str | None, timeout_s) -> "_PlanInfo":
        """The daemon's plan for a signature, registering it on first use."""
        plan = self._plans.get(key)
        if plan is None:
            fields = {"signature": wire}
            if strategy:
                fields["strategy"] = strategy
            header, _ = self.request("plan", fields, timeout_s=timeout_s)
            plan = _PlanInfo.from_reply(header)
            # The daemon's call channel, if it is the one beside our endpoint (never a path the
            # reply alone names).
            own = self._channel_path
            plan.channel = own if own is not None and header.get("calls") == own else None
            if len(self._plans) >= MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def known_plan(self, sig, strategy: str | None = None) -> "_PlanInfo | None":
        """The plan this client holds for a signature (None before its first inline run)."""
        return self._plans.get((signature_info(sig).signature, strategy))

    def _with_plan(self, info, strategy, arrays, timeout_s, send):
        """`send(plan)` with the daemon's plan for the signature: registered once, then each
        call names it. A daemon that does not know the id (restarted, or it evicted the plan)
        says so, and the plan is registered again. Plans are keyed by the signature itself,
        however the caller named it."""
        key = (info.signature, strategy)
        for attempt in range(2):
            plan = self._plan(key, info.wire, strategy, timeout_s)
            plan.check(arrays)
            try:
                return send(plan)
            except P.UnknownPlan:
                self._plans.pop(key, None)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _hot_call(self, info, strategy, arrays, timeout_s, timings) -> tuple[dict, list]:
        """Run through a plan, tensors in the call's frame (starting a daemon if need be)."""
        def send(plan):
            try:
                return self._call(plan, arrays, timeout_s, timings)
            except DaemonUnavailable:
                if not self.autostart or self._endpoint_problem:
                    raise
                self.start_daemon()
                return self._call(plan, arrays, timeout_s, timings)

        return self._with_plan(info, strategy, arrays, timeout_s, send)

    def _shm_call(self, info, strategy, arrays, segment: str, offsets: list, timeout_s, timings) -> bool:
        """A run whose tensors are already in this thread's segment, as a call of the plan on the
        call channel: no JSON, no ZeroMQ, and the kernel writes the result into the segment.
        False when no channel takes it (none, or it closed): the caller then sends `run`."""
        if self._channel_path is None:
            return False

        def send(plan) -> bool:
            conn = self._conn()
            chan = conn.open_channel(plan.channel, timeout_s or self.timeout_s) if plan.channel else None
            if chan is None:
                return False
            rid = next(self._ids)
            t_encode = time.perf_counter()
            frame = P.encode_shm_call(rid, plan.plan_id, segment, offsets)
            try:
                # no polling for the reply: tensors this big take longer than a wake-up, and the
                # kernel needs the cores
                header, _ = self._channel_exchange(conn, chan, frame, rid, timeout_s, timings, t_encode,
                                                   spin=False)
            except _ChannelLost:
                return False
            _daemon_timings(header, timings)
            return True

        return self._with_plan(info, strategy, arrays, timeout_s, send)

    def _exchange(self, msg: list, rid: int, op: str, timeout_s, timings, t_encode: float) -> tuple[dict, list]:
        """Send one encoded request on this thread's socket and wait for the reply to it."""
        if timeout_s is None:
            timeout_s = self.compile_timeout_s if op in _COMPILE_OPS else self.timeout_s
        t_sent = time.perf_counter()
        conn = self._conn()
        if not conn.connected:
            conn.read_events()  # once connected, the poll below watches the monitor too
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    # pyzmq copies frames under 64 KiB anyway; asking for that skips its Frame objects
                    conn.sock.send_multipart(msg, flags=zmq.NOBLOCK, copy=len(msg) == 1 and len(msg[0]) < (64 << 10))
                    break
                except zmq.Again:
                    # No pipe to the peer (e.g. a failed handshake) or a full queue: wait a bit.
                    conn.read_events()
                    if conn.problem:
                        raise DaemonUnavailable(f"boo daemon at {self.endpoint}: {conn.problem}") from None
                    if time.monotonic() >= deadline:
                        raise DaemonTimeout(f"cannot send to the boo daemon at {self.endpoint} within "
                                            f"{timeout_s:g} s") from None
                    conn.mon.poll(50)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DaemonTimeout(f"no reply from the boo daemon at {self.endpoint} to {op!r} "
                                        f"within {timeout_s:g} s")
                events = dict(conn.poller.poll(min(left, 1.0) * 1000))
                if conn.mon in events:
                    conn.read_events()
                if conn.sock in events:
                    parts = conn.sock.recv_multipart(copy=False)
                    t_reply = time.perf_counter()
                    first = parts[0].buffer
                    if P.is_call(first):
                        header, result = P.decode_call_reply(first)
                        parts = [parts[0], result]
                    else:
                        header = P.decode_header(first)
                    if timings is not None:
                        # where a round trip's time goes (bench/shim_overhead.py)
                        timings["encode_us"] = (t_sent - t_encode) * 1e6
                        timings["transport_us"] = (t_reply - t_sent) * 1e6
                        timings["decode_us"] = (time.perf_counter() - t_reply) * 1e6
                    if header.get("id") != rid and header.get("id") is not None:
                        continue  # a reply to an earlier request that timed out
                    if not header.get("ok"):
                        raise P.error_from_reply(header)
                    return header, parts[1:]
                if conn.problem and not conn.connected:
                    raise DaemonUnavailable(f"boo daemon at {self.endpoint}: {conn.problem}")
        except (DaemonUnavailable, ProtocolError, KeyboardInterrupt):
            self._reset()
            raise
        except zmq.ZMQError as e:
            self._reset()
            raise DaemonUnavailable(f"boo daemon at {self.endpoint}: {e}") from None

    # ------------------------------------------------------------------ daemon control
    def start_daemon(self, wait_s: float = 120.0) -> None:
        """Run `boo-daemon start` for this endpoint (returns when it answers)."""
        cmd = [sys.executable, "-m", "boo_daemon.cli", "start", "--endpoint", self.endpoint,
               "--wait", str(wait_s)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=wait_s + 30)
        if proc.returncode != 0:
            raise DaemonUnavailable(f"could not start a boo daemon at {self.endpoint}: "
                                    f"{(proc.stderr or proc.stdout).strip()[-500:]}")
        if self._curve_problem:  # the daemon has just written the owner's CURVE keys
            self._curve_problem = None
            self._curve = self._curve_keys(*self._curve_args)

    # ------------------------------------------------------------------ ops
    def hello(self, *, timeout_s: float | None = None) -> dict:
        """Versions (boo, protocol, iree_compiler, iree_runtime), target, device, pid, limits."""
        header, _ = self.request("hello", {"client": {"pid": os.getpid(), "protocol": P.PROTOCOL_VERSION}},
                                 timeout_s=timeout_s)
        return header

    def compile(self, sig, *, strategy: str | None = None, timeout_s: float | None = None) -> dict:
        """Compile (or find in the cache) and load `sig`. Reply fields: cache_hit, compile_seconds,
        joined (shared another client's compile), func_name, vmfb, strategy."""
        fields = {"signature": wire_form(sig)}
        if strategy:
            fields["strategy"] = strategy
        header, _ = self.request("compile", fields, timeout_s=timeout_s)
        return header

    def run(self, sig, *arrays, use_shm: bool | None = None, out: np.ndarray | None = None,
            strategy: str | None = None, timeout_s: float | None = None,
            timings: dict | None = None) -> np.ndarray:
        """Run `sig` on numpy arrays (or CPU torch tensors) in the signature's layouts and dtype.

        Tensors travel inline in the message, or through a shared-memory segment when
        `use_shm` is True (default: when the call moves at least `shm_threshold` bytes and the
        daemon is on this host). Returns a new array, or `out` filled in.
        """
        info = signature_info(sig)
        wire, dtype, result_shape, out_nbytes = info.wire, info.np_dtype, info.result_shape, info.result_nbytes
        arrays = [a if type(a) is np.ndarray and a.flags.c_contiguous else np.ascontiguousarray(_to_numpy(a))
                  for a in arrays]
        total = sum(a.nbytes for a in arrays) + out_nbytes
        if use_shm is None:
            use_shm = self.shm_possible and total >= self.shm_threshold
        if not use_shm:
            header, frames = self._hot_call(info, strategy, arrays, timeout_s, timings)
            _daemon_timings(header, timings)
            if len(frames) != 1 or len(frames[0]) != out_nbytes:
                raise ProtocolError(f"run: the daemon sent {len(frames)} frames / "
                                    f"{len(frames[0]) if frames else 0} bytes; expected {out_nbytes}")
            res = np.frombuffer(frames[0], dtype=dtype).reshape(result_shape)
            if out is not None:
                np.copyto(out, res)
                return out
            return res.copy()
        conn = self._conn()
        offsets, pos = [], 0
        for a in arrays:
            offsets.append(pos)
            pos += -(-a.nbytes // _ALIGN) * _ALIGN
        out_off = pos
        seg = conn.shm.ensure(out_off + out_nbytes)
        for a, off in zip(arrays, offsets):
            np.frombuffer(seg.buf, dtype=np.uint8, count=a.nbytes, offset=off)[:] = a.reshape(-1).view(np.uint8)
        if not self._shm_call(info, strategy, arrays, seg.name, [*offsets, out_off], timeout_s, timings):
            fields = {"signature": wire}
            if strategy:
                fields["strategy"] = strategy
            fields["inputs"] = [P.array_spec(a, shm=P.ShmRef(seg.name, off, a.nbytes)).to_wire()
                                for a, off in zip(arrays, offsets)]
            fields["output"] = {"shm": P.ShmRef(seg.name, out_off, out_nbytes).to_wire()}
            _daemon_timings(self.request("run", fields, timeout_s=timeout_s, timings=timings)[0], timings)
        res = np.frombuffer(seg.buf, dtype=dtype, count=int(np.prod(result_shape)), offset=out_off).reshape(result_shape)
        if out is not None:
            np.copyto(out, res)
            return out
        return res.copy()

    def find(self, sig, iters: int = 10, *, warmup: int = 1, strategy: str | None = None,
             timeout_s: float | None = None) -> dict:
        """Time `sig` on the daemon's device: min_ms, mean_ms, median_ms, max_ms over `iters`."""
        fields = {"signature": wire_form(sig), "iters": int(iters), "warmup": int(warmup)}
        if strategy:
            fields["strategy"] = strategy
        header, _ = self.request("find", fields, timeout_s=timeout_s)
        return header

    def warm(self, lines: Iterable, *, strategy: str | None = None, timeout_s: float | None = None) -> dict:
        """Compile every signature named by `lines` (MIOpenDriver commands, MIOpen log lines,
        ConvSignatures or field dicts). Reply: results (one per line: ok, signatures, compiled,
        cache_hits, or code + reason), lines_ok, lines_failed."""
        wire = []
        for line in lines:
            if isinstance(line, (str, dict)):
                wire.append(line)
            else:
                wire.append(wire_form(line))
        fields = {"lines": wire}
        if strategy:
            fields["strategy"] = strategy
        header, _ = self.request("warm", fields, timeout_s=timeout_s)
        return header

    def stats(self, *, timeout_s: float | None = None) -> dict:
        header, _ = self.request("stats", timeout_s=timeout_s)
        return header["stats"]

    def shutdown(self, *, timeout_s: float | None = None) -> dict:
        """Ask the daemon to finish in-flight work and exit."""
        header, _ = self.request("shutdown", timeout_s=timeout_s)
        return header

    def ping(self, timeout_s: float = 2.0) -> bool:
        """True when a daemon answers `hello` within `timeout_s`."""
        try:
            self._request("hello", None, (), timeout_s)
            return True
        except DaemonUnavailable:
            return False

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close every thread's socket and unlink this client's shared-memory segments."""
        self._closed = True
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            c.close()
        self._local = threading.local()
        self._ctx.term()

    def __enter__(self) -> "BooClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            if not self._closed:
                self.close()
        except Exception:  # noqa: BLE001
            pass


class _PlanInfo:
    """A plan the daemon registered: its id and the tensors each call must bring."""

    __slots__ = ("plan_id", "in_shapes", "dtype", "channel")

    def __init__(self, plan_id: int, in_shapes: list, dtype: np.dtype):
        self.plan_id, self.in_shapes, self.dtype = plan_id, in_shapes, dtype
        self.channel: str | None = None  # the daemon's call channel, where calls go

    @staticmethod
    def from_reply(header: dict) -> "_PlanInfo":
        plan_id, inputs = header.get("plan"), header.get("inputs")
        if type(plan_id) is not int or not 1 <= plan_id <= P.MAX_PLAN_ID:
            raise ProtocolError(f"plan: the daemon sent plan id {str(plan_id)[:40]!r}")
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= P.MAX_FRAMES:
            raise ProtocolError("plan: the reply's inputs are not a list of tensor specs")
        specs = [P.TensorSpec.from_wire({**t, "inline": 0} if isinstance(t, dict) else t, 1, f"plan.inputs[{i}]")
                 for i, t in enumerate(inputs)]
        if len({t.dtype for t in specs}) != 1:
            raise ProtocolError("plan: the reply's inputs mix dtypes")
        return _PlanInfo(plan_id, [t.shape for t in specs], specs[0].np_dtype)

    def check(self, arrays: Sequence[np.ndarray]) -> None:
        """The call's tensors against the plan, here rather than after a round trip."""
        if len(arrays) != len(self.in_shapes):
            raise SignatureError("inputs", f"expected {len(self.in_shapes)} tensors, got {len(arrays)}")
        for i, (a, shape) in enumerate(zip(arrays, self.in_shapes)):
            if a.shape != shape or a.dtype != self.dtype:
                raise SignatureError("inputs", f"tensor {i}: {a.dtype}{list(a.shape)} != expected "
                                               f"{self.dtype}{list(shape)}")


class _ChannelLost(Exception):
    """The call channel closed under a call (the daemon died or restarted): the call goes to
    the ZeroMQ socket instead, which tells the caller what happened."""


class _Channel:
    """One thread's call channel: a non-blocking Unix stream socket whose waits are ours, so
    that a wait can first poll without sleeping (a Python socket with a timeout always sleeps in
    poll() before it reads). Timeouts raise socket.timeout, a closed channel EOFError."""

    def __init__(self, path: str, timeout_s: float):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout_s)
            s.connect(path)
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self.sock = s
        self._readable, self._writable = select.poll(), select.poll()
        self._readable.register(s, select.POLLIN)
        self._writable.register(s, select.POLLOUT)

    def close(self) -> None:
        self.sock.close()

    def exchange(self, frame: bytes, timeout_s: float, spin_s: float) -> bytearray:
        """Send one frame and read the reply frame."""
        deadline = time.monotonic() + timeout_s
        self._send_all(memoryview(P.channel_prefix(len(frame)) + frame), deadline)
        end = time.perf_counter() + spin_s
        while time.perf_counter() < end:  # the reply of a small call usually comes meanwhile
            try:
                self.sock.recv(1, socket.MSG_PEEK)
                break  # data, or b"" at EOF: the reads below see which
            except BlockingIOError:
                os.sched_yield()  # a daemon waiting for this core gets it at once
        n = P.channel_length(self._recv_exactly(bytearray(P.CHANNEL_PREFIX_BYTES), deadline))
        if n > P.DEFAULT_MAX_FRAME_BYTES + P.CALL_REPLY_BYTES:
            raise EOFError(f"call channel: a {n}-byte reply")
        return self._recv_exactly(bytearray(n), deadline)

    def _wait(self, poller, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            raise socket.timeout("call channel")

    def _send_all(self, data: memoryview, deadline: float) -> None:
        while data:
            try:
                # MSG_NOSIGNAL: a program under the shim may not ignore SIGPIPE (Python ignores it
                # only when it is the main program)
                data = data[self.sock.send(data, socket.MSG_NOSIGNAL):]
            except BlockingIOError:
                self._wait(self._writable, deadline)

    def _recv_exactly(self, buf: bytearray, deadline: float) -> bytearray:
        view, got = memoryview(buf), 0
        while got < len(buf):
            try:
                n = self.sock.recv_into(view[got:])
            except BlockingIOError:
                self._wait(self._readable, deadline)
                continue
            if n == 0:
                raise EOFError("call channel closed")
            got += n
        return buf


def _daemon_timings(header: dict, timings: dict | None) -> None:
    """The daemon's own figures of a run (reply fields), into `timings` when asked for."""
    if timings is None:
        return
    for key, field_name, scale in (("kernel_us", "kernel_ms", 1e3), ("daemon_us", "daemon_us", 1.0)):
        v = header.get(field_name)
        if isinstance(v, (int, float)):
            timings[key] = float(v) * scale


def _to_numpy(a):
    from .runtime import to_numpy

    return to_numpy(a)

