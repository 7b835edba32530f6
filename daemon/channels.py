"""Call channels: the daemon's Unix stream socket for hot calls (protocol.py, "call channels").

One listening socket beside the ipc endpoint, one connection per client thread, served by the
main loop: it polls these sockets together with the ZeroMQ ones and hands every complete frame
to `serve` (the daemon's call handler) with the connection's `ChannelPeer`. The handler returns
the reply, or None when the call was queued like any other request; its reply then comes back
through `send(peer, reply)`. A connection carries one call at a time (its client thread waits for
each reply), so nothing is read from it while its reply is due.

What a peer can do wrong, and what it costs it: a peer of another uid is refused at accept; a
frame over the size limit, or one that is not a call, gets an error reply and the connection is
closed (a stream whose length prefixes cannot be trusted is not read again); a peer that stops
reading its replies is not read from until it does (one reply is kept for it, no more), so
its own sends block; one that sends ahead of a queued call's reply is dropped past one frame's
worth of bytes. None of it reaches another connection or the daemon.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
from typing import Callable

import zmq

from boo_shim import protocol as P

from . import logs

_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_RECV_BYTES = 1 << 18


class ChannelPeer:
    """Names one channel connection as the daemon's requester identity. Serial numbers are never
    reused, so a late reply can never reach a newer connection on the same file descriptor.
    `pid` is the connecting process (SO_PEERCRED): shared memory is served only to its creator."""

    __slots__ = ("serial", "pid")

    def __init__(self, serial: int, pid: int):
        self.serial, self.pid = serial, pid

    def __repr__(self) -> str:
        return f"ChannelPeer({self.serial}, pid {self.pid})"


class _Connection:
    __slots__ = ("sock", "peer", "pending_in", "body", "body_got", "pending_out", "closing", "awaiting")

    def __init__(self, sock: socket.socket, peer: ChannelPeer):
        self.sock, self.peer = sock, peer
        self.pending_in = bytearray()  # bytes read and not yet served (small frames)
        self.body: bytearray | None = None  # a big frame being read straight into its buffer
        self.body_got = 0
        self.pending_out = memoryview(b"")  # the rest of a reply the peer has not taken yet
        self.closing = False  # close once pending_out is gone
        self.awaiting = False  # a queued call's reply is due


class CallChannels:
    def __init__(self, path: str, serve: Callable[[memoryview, ChannelPeer], bytes | bytearray | dict | None], *,
                 max_frame_bytes: int, max_connections: int):
        self.path = path
        self._serve = serve
        self._max_frame = min(max_frame_bytes + P.CALL_REQUEST_BYTES, P.CHANNEL_MAX_FRAME)
        self._max_connections = max_connections
        self._listener: socket.socket | None = None
        self._conns: dict[int, _Connection] = {}
        self._fds: dict[ChannelPeer, int] = {}
        self._serials = itertools.count(1)
        self._poller: zmq.Poller | None = None
        self.refused = 0  # connections refused (uid, too many) and dropped for a bad frame

    # ------------------------------------------------------------------ lifetime
    def open(self) -> None:
        """Bind and listen (owner-only socket). The caller holds the endpoint's lock, so a file
        left at the path is a dead daemon's."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o077)
        try:
            s.bind(self.path)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        s.listen(128)
        s.setblocking(False)
        self._listener = s

    def register(self, poller: zmq.Poller) -> None:
        self._poller = poller
        poller.register(self._listener.fileno(), zmq.POLLIN)

    def close(self) -> None:
        for fd in list(self._conns):
            self._drop(fd)
        if self._listener is not None:
            if self._poller is not None:
                self._poller.unregister(self._listener.fileno())
            self._listener.close()
            self._listener = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __len__(self) -> int:
        return len(self._conns)

    # ------------------------------------------------------------------ events
    def on_events(self, events: dict) -> None:
        """Handle what the loop's poll reported for our sockets (`events`: fd or socket -> mask)."""
        if self._listener is None:
            return
        if self._listener.fileno() in events:
            self._accept()
        for fd, mask in events.items():
            conn = self._conns.get(fd) if type(fd) is int else None
            if conn is None:
                continue
            if mask & zmq.POLLERR:
                self._drop(fd)
            elif conn.pending_out:
                if mask & zmq.POLLOUT:
                    self._flush(fd, conn)
            elif mask & zmq.POLLIN:
                self._read(fd, conn)

    def _accept(self) -> None:
        for _ in range(64):
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and the like: the peers see a refused connection
                logs.warning("channel_accept_failed", reason=str(e))
                return
            try:
                pid, uid, _gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                  _PEERCRED.size))
            except OSError:
                pid, uid = -1, -1
            if uid != os.getuid() or len(self._conns) >= self._max_connections:
                self.refused += 1
                logs.warning("channel_refused", uid=uid, connections=len(self._conns))
                sock.close()
                continue
            sock.setblocking(False)
            conn = _Connection(sock, ChannelPeer(next(self._serials), pid))
            self._conns[sock.fileno()] = conn
            self._fds[conn.peer] = sock.fileno()
            self._poller.register(sock.fileno(), zmq.POLLIN)

    def _drop(self, fd: int) -> None:
        conn = self._conns.pop(fd, None)
        if conn is None:
            return
        self._fds.pop(conn.peer, None)
        try:
            self._poller.unregister(fd)
        except KeyError:
            pass
        conn.sock.close()

    def _read(self, fd: int, conn: _Connection) -> None:
        if conn.body is not None:
            self._read_body(fd, conn)
            return
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(fd)
            return
        if not data:
            self._drop(fd)  # the client thread (or process) is gone
            return
        if not conn.pending_in and not conn.awaiting:
            # The usual case: one whole frame in one read, served from the bytes as they came.
            n = P.channel_length(data) if len(data) >= P.CHANNEL_PREFIX_BYTES else -1
            if n >= 0 and len(data) == P.CHANNEL_PREFIX_BYTES + n and n <= self._max_frame:
                self._answer(fd, conn, memoryview(data)[P.CHANNEL_PREFIX_BYTES:])
                return
        conn.pending_in += data
        if len(conn.pending_in) > P.CHANNEL_PREFIX_BYTES + self._max_frame:
            self.refused += 1  # more than one frame ahead of its replies: not a client of ours
            self._drop(fd)
            return
        self._serve_pending(fd, conn)

    def _serve_pending(self, fd: int, conn: _Connection) -> None:
        buf = conn.pending_in
        while (len(buf) >= P.CHANNEL_PREFIX_BYTES and not conn.pending_out and not conn.awaiting
               and fd in self._conns):
            n = P.channel_length(buf)
            if n > self._max_frame:
                self.refused += 1
                self._reply(fd, conn, P.error_reply({"op": P.CALL_OP}, P.ProtocolError(
                    f"call channel: a {n}-byte frame is over the {self._max_frame}-byte limit")), close=True)
                return
            end = P.CHANNEL_PREFIX_BYTES + n
            if len(buf) < end:
                if n > _RECV_BYTES:
                    # A big frame: the rest is read into its own buffer, in as few turns as the
                    # socket allows, and nothing is copied again (see `_read_body`).
                    conn.body = bytearray(n)
                    conn.body_got = len(buf) - P.CHANNEL_PREFIX_BYTES
                    conn.body[:conn.body_got] = buf[P.CHANNEL_PREFIX_BYTES:]
                    del buf[:]
                return
            frame = bytes(buf[P.CHANNEL_PREFIX_BYTES:end])  # (a view would pin the bytearray)
            del buf[:end]
            self._answer(fd, conn, memoryview(frame))

    def _read_body(self, fd: int, conn: _Connection) -> None:
        view = memoryview(conn.body)
        while conn.body_got < len(view):
            try:
                n = conn.sock.recv_into(view[conn.body_got:])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                n = 0
            if n == 0:
                del view
                self._drop(fd)
                return
            conn.body_got += n
        frame, conn.body = conn.body, None
        del view
        self._answer(fd, conn, memoryview(frame))

    def _answer(self, fd: int, conn: _Connection, frame: memoryview) -> None:
        if not P.is_call(frame):
            self.refused += 1
            self._reply(fd, conn, P.error_reply({"op": P.CALL_OP}, P.ProtocolError(
                "call channel: only call frames travel here; other requests go to the daemon's socket")),
                close=True)
            return
        try:
            reply = self._serve(frame, conn.peer)
        except Exception as e:  # noqa: BLE001 - the handler replies to everything; this is the last resort
            logs.error("internal_error", where="channel", reason=f"{type(e).__name__}: {e}"[:300])
            reply = P.error_reply({"op": P.CALL_OP}, f"internal error handling the call: {type(e).__name__}")
        if reply is None:
            conn.awaiting = True  # queued: `send` brings the reply
        else:
            self._reply(fd, conn, reply)

    def send(self, peer: ChannelPeer, reply: bytes | bytearray | dict) -> None:
        """The reply to a call `serve` queued (main thread); dropped if its connection is gone."""
        fd = self._fds.get(peer)
        conn = self._conns.get(fd) if fd is not None else None
        if conn is None:
            return
        conn.awaiting = False
        self._reply(fd, conn, reply)
        if fd in self._conns and not conn.pending_out:
            self._serve_pending(fd, conn)

    def _reply(self, fd: int, conn: _Connection, reply: bytes | bytearray | dict, close: bool = False) -> None:
        if isinstance(reply, dict):
            reply = P.encode(reply)[0]
        conn.closing = close
        try:
            sent = conn.sock.sendmsg([P.channel_prefix(len(reply)), reply], [], socket.MSG_NOSIGNAL)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(fd)
            return
        if sent < P.CHANNEL_PREFIX_BYTES + len(reply):
            # The peer is not reading (or the reply is bigger than the socket's buffer): keep
            # the rest and stop reading from it until it has taken it. (A view: the rest goes
            # in pieces, and slicing a view copies nothing.)
            if sent < P.CHANNEL_PREFIX_BYTES:
                rest = memoryview(P.channel_prefix(len(reply))[sent:] + bytes(reply))
            else:
                rest = memoryview(reply)[sent - P.CHANNEL_PREFIX_BYTES:]
            conn.pending_out = rest
            self._poller.modify(fd, zmq.POLLOUT)
        elif close:
            self._drop(fd)

    def _flush(self, fd: int, conn: _Connection) -> None:
        while conn.pending_out:
            try:
                sent = conn.sock.send(conn.pending_out, socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(fd)
                return
            conn.pending_out = conn.pending_out[sent:]
        if conn.closing:
            self._drop(fd)
            return
        self._poller.modify(fd, zmq.POLLIN)
        self._serve_pending(fd, conn)  # frames that came while the reply waited
