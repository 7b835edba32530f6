"""The daemon: a ROUTER socket, a compile process pool and a kernel-call thread pool.

This module holds the socket loop, admission (per-client order and queue bounds) and the request
handlers (`_op_*`, one per op in `Daemon._handlers`). What they use lives beside it: compiles
and single flight in `compiles.py` (`CompileService`), hot-call plans in `plans.py`
(`PlanTable`), counters and the stats report in `stats.py` (`DaemonStats`), and what a
signature means on the wire in `boo_shim.sig_info`, shared with the client.

Threads and sockets:
- The main thread owns the ROUTER socket (zmq sockets are not thread-safe): it receives,
  validates, dispatches, and sends every reply.
- Work finishes on other threads (the call pool, the process pool's manager thread); they put
  replies on a queue and write a byte to a wake-up pipe that the main poller also watches.
- Requests from one client (one DEALER identity) run strictly in order: the next one starts
  when the previous reply is sent. Different clients run concurrently.
- Compiles run in a spawn-context ProcessPoolExecutor (niced, owned by `CompileService`), one
  job per new signature no matter how many clients ask (single flight). Calls to compiled kernels run on the thread pool
  and never wait for compiles.
- Hot calls (binary headers naming a registered plan, `protocol.encode_call`) of small kernels
  run right on the main thread on IREE's local-sync device: no thread hand-off at all, which on
  a small VM costs more than such a kernel.
"""

from __future__ import annotations

import concurrent.futures as cf
import errno
import fcntl
import functools
import json
import os
import queue
import signal
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zmq
import zmq.utils.z85

from boo_shim import __version__ as BOO_VERSION
from boo_shim import config
from boo_shim import protocol as P
from boo_shim import endpoints
from boo_shim import shm
from boo_shim.cache import default_cache_dir
from boo_shim.errors import BooError, MIOpenStatus, SignatureError
from boo_shim.sig_info import SignatureInfo, signature_info
from boo_shim.targets import parse_target

from . import logs
from .channels import CallChannels, ChannelPeer
from .compiles import CompileService
from .plans import Plan, PlanTable
from .stats import OTHER_SIGNATURES, DaemonStats, func_name

__all__ = ["Daemon", "DaemonConfig", "StartupError", "OTHER_SIGNATURES", "read_info"]

# Bounds on what one peer, or all of them together, can make the daemon hold (issue: memory that
# only grows). Hitting one answers AllocFailed (`protocol.Overloaded`) and the daemon goes on.
MAX_QUEUED_PER_CLIENT = 64  # requests waiting behind a client's running one
MAX_QUEUED_TOTAL = 1024  # ... all clients together
MAX_QUEUED_BYTES = 1 << 30  # inline tensor bytes held by queued requests, all clients
MAX_PENDING_COMPILES = 256  # compile jobs queued or running
MAX_CLIENTS = 256  # open connections (the ZAP handler refuses more)
MAX_SIGNATURES = 4096  # per-signature tables: known-compiled, loaded-once, call stats
MAX_FIND_BYTES = 1 << 30  # tensors `find` allocates
SWEEP_INTERVAL_S = 5.0  # how often dead clients' segments are unmapped and unlinked


class StartupError(Exception):
    """The daemon cannot start (endpoint taken, insecure bind, bad option); exit code 2."""


@dataclass
class DaemonConfig:
    endpoint: str | None = None
    cache_dir: str | None = None
    target: str = "cpu"
    device: str | None = None
    workers: int | None = None
    call_threads: int | None = None
    strategy: str = "auto"
    kernel_capacity: int = 256
    max_frame_bytes: int = P.DEFAULT_MAX_FRAME_BYTES
    shm_threshold: int = P.DEFAULT_SHM_THRESHOLD
    inline_run_max_us: float = 200.0  # calls whose mean kernel time is below this run on the main thread
    # After a message the loop polls without sleeping this long: on a small VM a wake-up costs
    # tens of microseconds, more than a tiny call itself (bench/shim_overhead.py).
    spin_us: float = 500.0
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"
    curve_secret_key_file: str | None = None
    curve_authorized_keys: str | None = None  # a directory of client public certificates
    log_file: str | None = None
    prewarm_workers: bool = True
    max_queued_per_client: int = MAX_QUEUED_PER_CLIENT
    max_queued: int = MAX_QUEUED_TOTAL
    max_queued_bytes: int = MAX_QUEUED_BYTES
    max_pending_compiles: int = MAX_PENDING_COMPILES
    max_clients: int = MAX_CLIENTS
    max_signatures: int = MAX_SIGNATURES
    max_find_bytes: int = MAX_FIND_BYTES
    shm_max_idle_bytes: int = 256 << 20
    sweep_interval_s: float = SWEEP_INTERVAL_S

    @staticmethod
    def from_env(**overrides) -> "DaemonConfig":
        cfg = DaemonConfig(
            endpoint=config.endpoint(),
            cache_dir=config.cache_dir(),
            target=config.target(),
            device=config.device(),
            workers=config.compile_workers(),
        )
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg


@dataclass
class _Request:
    identity: bytes | ChannelPeer  # a ZeroMQ routing id, or a call channel's connection
    header: dict
    frames: list
    received: float = field(default_factory=time.perf_counter)
    peer: tuple[int, int] | None = None  # (uid, pid) of an ipc peer, from SO_PEERCRED
    nbytes: int = 0  # inline tensor bytes it holds while queued

    @property
    def op(self) -> str:
        return self.header["op"]


class Daemon:
    def __init__(self, config: DaemonConfig):
        self.cfg = config
        self.endpoint = config.endpoint or endpoints.default_endpoint()
        self.target = parse_target(config.target)
        self.cache_dir = str(Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir())
        self.workers = max(1, config.workers or os.cpu_count() or 1)
        self.stats = DaemonStats(config.max_signatures)
        self.started = time.time()
        self._replies: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        self._stopping = False
        self._force = False
        self._clients: dict[bytes, deque] = {}  # identity -> queued requests (present while busy)
        self._inflight = 0
        self.compiles = CompileService(self.target, self.cache_dir, self.workers, self.stats,
                                       max_pending_compiles=config.max_pending_compiles,
                                       max_signatures=config.max_signatures)
        self._queued = 0  # requests waiting in self._clients' deques
        self._queued_bytes = 0
        self._connections = 0  # open connections (router monitor), read by the ZAP handler
        self._monitor: zmq.Socket | None = None
        self._next_sweep = 0.0
        self._spin_until = 0.0  # perf_counter time until which the loop polls without sleeping
        self._calls: cf.ThreadPoolExecutor | None = None
        self._lock_fd: int | None = None
        self._ctx: zmq.Context | None = None
        self._router: zmq.Socket | None = None
        self._auth = None
        self._metrics = None
        self.channels: CallChannels | None = None  # the call channel beside an ipc endpoint
        self.shm = shm.ShmAttachments(max_idle_bytes=config.shm_max_idle_bytes)
        self.plans = PlanTable(config.kernel_capacity)
        self._handlers = {
            "hello": self._op_hello, "compile": self._op_compile, "plan": self._op_plan, "run": self._op_run,
            P.CALL_OP: self._op_call, "find": self._op_find, "warm": self._op_warm, "stats": self._op_stats,
            "shutdown": self._op_shutdown,
        }
        from boo_shim.runtime import LoadedKernels

        self.loaded = LoadedKernels(capacity=config.kernel_capacity)

    # ------------------------------------------------------------------ lifecycle
    def _acquire_endpoint(self) -> None:
        sock = endpoints.ipc_path(self.endpoint)
        if sock is not None:
            if len(str(sock)) > 100:
                raise StartupError(f"ipc socket path {sock} is too long for a unix socket (max ~100 bytes)")
            try:
                endpoints._mkdir_private(sock.parent)
            except P.DaemonUnavailable as e:
                raise StartupError(str(e)) from None
        elif self.endpoint.startswith("tcp://"):
            if not endpoints.is_loopback_endpoint(self.endpoint) and not self.cfg.curve_secret_key_file:
                raise StartupError(
                    f"refusing to bind {self.endpoint}: a non-loopback TCP endpoint needs ZeroMQ CURVE "
                    "encryption; pass --curve-secret-key-file (and --curve-authorized-keys to restrict "
                    "clients), or bind tcp://127.0.0.1:PORT"
                )
        else:
            raise StartupError(f"endpoint {self.endpoint!r}: use ipc://PATH or tcp://HOST:PORT")
        try:
            lock_path = endpoints.endpoint_state_path(self.endpoint, ".lock")
            self._check_state_dir(lock_path.parent)
            fd = endpoints.open_private(lock_path, os.O_RDWR)
        except P.DaemonUnavailable as e:
            raise StartupError(str(e)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                pid = _read_info(self.endpoint).get("pid", "?")
                raise StartupError(f"a boo daemon (pid {pid}) already serves {self.endpoint}") from None
            raise
        self._lock_fd = fd
        if sock is not None and (sock.exists() or sock.is_symlink()):
            # We hold the lock, so whoever made this socket is gone.
            sock.unlink()
            logs.warning("stale_socket_removed", path=str(sock))

    def _check_state_dir(self, directory: Path) -> None:
        """Entries boo did not make (symlinks, other users' files) where the daemon writes its
        lock, pid and log files: refuse to start rather than write through them. boo's own
        runtime directory is checked whole; a directory the user named, only for our names."""
        try:
            own = directory == endpoints.runtime_dir()
        except P.DaemonUnavailable:
            own = False
        sock = endpoints.ipc_path(self.endpoint)
        prefix = None if own else (sock.name if sock is not None else
                                   endpoints.endpoint_state_path(self.endpoint, "").name)
        endpoints.check_state_dir(directory, prefix)

    def _bind(self) -> None:
        self._ctx = zmq.Context()
        r = self._ctx.socket(zmq.ROUTER)
        r.setsockopt(zmq.LINGER, 2000)
        r.setsockopt(zmq.MAXMSGSIZE, int(self.cfg.max_frame_bytes) + P.MAX_HEADER_BYTES)
        r.setsockopt(zmq.RCVHWM, 10000)
        r.setsockopt(zmq.SNDHWM, 10000)
        from zmq.auth import load_certificate

        from .auth import ZapHandler

        authorized = None
        if self.endpoint.startswith("tcp://"):
            # Every tcp endpoint, loopback included, is CURVE with an authorized key list: a
            # loopback port is reachable by every local user, who could otherwise name our
            # shared memory or shut the daemon down. Loopback defaults to the owner's keys.
            key_file = self.cfg.curve_secret_key_file
            authorized = set()
            try:
                # The owner's key directory is created only when it is used (explicit keys and
                # an explicit authorized list leave ~/.config alone).
                own = None if key_file and self.cfg.curve_authorized_keys else endpoints.ensure_curve_keys()
                if not key_file:
                    key_file = str(own / "server.key_secret")
                if self.cfg.curve_authorized_keys:
                    from zmq.auth import load_certificates

                    authorized |= {zmq.utils.z85.decode(k) for k in load_certificates(self.cfg.curve_authorized_keys)}
                else:
                    authorized.add(zmq.utils.z85.decode(load_certificate(str(own / "client.key"))[0]))
                public, secret = load_certificate(key_file)
            except (OSError, ValueError, P.DaemonUnavailable) as e:
                raise StartupError(f"CURVE keys: {e}") from None
            if not secret:
                raise StartupError(f"--curve-secret-key-file {key_file}: no secret key in it")
            r.curve_secretkey = secret
            r.curve_publickey = public
            r.curve_server = True
        self._auth = ZapHandler(self._ctx, authorized_keys=authorized, uid=os.getuid(),
                                max_clients=self.cfg.max_clients, connections=lambda: self._connections)
        self._auth.start()
        r.setsockopt(zmq.ZAP_DOMAIN, b"boo")  # makes libzmq consult the handler for NULL (ipc) too
        self._monitor = r.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        old = os.umask(0o077)
        try:
            r.bind(self.endpoint)
        except zmq.ZMQError as e:
            raise StartupError(f"cannot bind {self.endpoint}: {e}") from None
        finally:
            os.umask(old)
        sock = endpoints.ipc_path(self.endpoint)
        if sock is not None:
            os.chmod(sock, 0o600)
        self._router = r
        path = P.channel_path(self.endpoint)
        if path is not None:
            channels = CallChannels(path, self._channel_call, max_frame_bytes=self.cfg.max_frame_bytes,
                                    max_connections=self.cfg.max_clients)
            try:
                channels.open()
                self.channels = channels
            except OSError as e:  # the ZeroMQ socket alone still serves everything
                logs.warning("channel_unavailable", path=path, reason=str(e))

    def _write_info(self) -> None:
        info = {"pid": os.getpid(), "endpoint": self.endpoint, "started": self.started,
                "log_file": self.cfg.log_file, "cache_dir": self.cache_dir}
        path = endpoints.endpoint_state_path(self.endpoint, ".pid")
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        fd = endpoints.open_private(tmp, os.O_WRONLY, exclusive=True)
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        os.replace(tmp, path)

    def _start_pools(self) -> None:
        n = self.cfg.call_threads or max(4, 2 * (os.cpu_count() or 1))
        self._calls = cf.ThreadPoolExecutor(max_workers=n, thread_name_prefix="boo-call")
        self.compiles.start(prewarm=self.cfg.prewarm_workers)

    def serve(self) -> int:
        """Run until shutdown; returns the exit code."""
        try:
            self._acquire_endpoint()
            self._bind()
        except StartupError as e:
            logs.error("startup_failed", reason=str(e))
            self._close_sockets()
            raise
        try:
            self._write_info()
            self._start_pools()
            if self.cfg.metrics_port is not None:
                from .metrics import start_metrics

                if not endpoints.is_loopback_endpoint(f"tcp://{self.cfg.metrics_addr}:0"):
                    logs.warning("metrics_exposed", addr=self.cfg.metrics_addr, port=self.cfg.metrics_port,
                                 reason="metrics are unauthenticated; every host that reaches this address "
                                        "can read signatures and figures")

                self._metrics = start_metrics(self, self.cfg.metrics_port, self.cfg.metrics_addr)
            self._install_signals()
            self._sweep(force=True)
            logs.info("ready", endpoint=self.endpoint, target=self.target.spec, device=self.cfg.device or self.target.driver,
                      cache_dir=self.cache_dir, workers=self.workers, version=BOO_VERSION,
                      metrics_port=self.cfg.metrics_port)
            self._loop()
            return 0
        finally:
            self._cleanup()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, _frame):
            if self._stopping:
                self._force = True
            self._stopping = True
            logs.info("signal", signal=signal.Signals(signum).name, inflight=self._inflight)
            self._wake()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def request_stop(self) -> None:
        """Stop accepting work, finish what is in flight, then return from `serve` (thread-safe)."""
        self._stopping = True
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the loop is going to wake anyway

    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        if self._monitor is not None:
            poller.register(self._monitor, zmq.POLLIN)
        if self.channels is not None:
            self.channels.register(poller)
        failures = 0
        while True:
            try:
                if self._iterate(poller):
                    break
                failures = 0
            except Exception as e:  # noqa: BLE001 - last resort: nothing one event does ends the loop
                if isinstance(e, zmq.ZMQError) and e.errno == zmq.ETERM:
                    break  # our own context is gone: nothing left to serve with
                failures += 1
                logs.error("internal_error", where="loop", reason=f"{type(e).__name__}: {e}"[:500],
                           exc=traceback.format_exc(limit=8)[-2000:])
                time.sleep(min(0.001 * failures, 0.1))  # a persistent fault must not spin a core
        logs.info("stopping", inflight=self._inflight, forced=self._force)

    def _iterate(self, poller: zmq.Poller) -> bool:
        """One turn of the main loop; True when it is time to stop."""
        if self._inflight == 0 and time.perf_counter() < self._spin_until:
            # (not while work runs on other threads: their reply comes with a wake-up anyway,
            # and a polling loop would take a core from the kernel)
            events = dict(poller.poll(0))
            if not events:
                os.sched_yield()  # a client waiting for this core gets it at once
        else:
            events = dict(poller.poll(250))
        if events and self.cfg.spin_us > 0:
            self._spin_until = time.perf_counter() + self.cfg.spin_us * 1e-6
        if self._wake_r in events:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        if self._monitor is not None and self._monitor in events:
            self._read_monitor()
        if self.channels is not None:
            self.channels.on_events(events)
        self._flush_replies()
        if self._router in events:
            for _ in range(256):
                # ZMQ_EVENTS first: a recv that raises Again costs an exception a turn
                if not self._router.get(zmq.EVENTS) & zmq.POLLIN:
                    break
                try:
                    frames = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                try:
                    self._on_message(frames)
                except Exception as e:  # noqa: BLE001 - last resort for one message
                    self._on_internal_error(frames, e)
                self._flush_replies()  # an inline call's reply leaves before the next recv
        self._sweep()
        return self._stopping and (self._force or (self._inflight == 0 and not self._clients))

    def _read_monitor(self) -> None:
        from zmq.utils.monitor import recv_monitor_message

        while True:
            try:
                ev = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if ev["event"] == zmq.EVENT_ACCEPTED:
                self._connections += 1
            elif ev["event"] == zmq.EVENT_DISCONNECTED:
                self._connections = max(0, self._connections - 1)

    def _sweep(self, force: bool = False) -> None:
        """Every `sweep_interval_s`: unmap segments of clients that went away, and unlink the
        segments of clients that died before they could (SIGKILL leaves them in /dev/shm)."""
        now = time.monotonic()
        if not force and now < self._next_sweep:
            return
        self._next_sweep = now + self.cfg.sweep_interval_s
        unmapped = self.shm.sweep()
        removed = shm.sweep_orphan_segments()
        if unmapped or removed:
            logs.info("shm_swept", unmapped=unmapped, unlinked=len(removed))

    def _on_internal_error(self, frames: list, exc: BaseException) -> None:
        with self.stats.lock:
            self.stats.bad_messages += 1
        logs.error("internal_error", where="message", reason=f"{type(exc).__name__}: {exc}"[:500],
                   exc=traceback.format_exc(limit=8)[-2000:])
        try:
            identity = frames[0].bytes
            self._send(identity, P.error_reply(None, f"internal error handling the message: {type(exc).__name__}"))
        except Exception:  # noqa: BLE001 - the reply is best effort; the loop goes on
            pass

    def _cleanup(self) -> None:
        if self._metrics is not None:
            try:
                self._metrics.shutdown()
            except Exception:  # noqa: BLE001
                pass
        if self._calls is not None:
            self._calls.shutdown(wait=not self._force, cancel_futures=True)
        self.compiles.shutdown(wait=not self._force)
        self._flush_replies()
        if self.channels is not None:
            self.channels.close()
        self._close_sockets()
        self.shm.close()
        if self._lock_fd is not None:
            sock = endpoints.ipc_path(self.endpoint)
            if sock is not None:
                try:
                    sock.unlink()
                except FileNotFoundError:
                    pass
            try:
                endpoints.endpoint_state_path(self.endpoint, ".pid").unlink()
            except FileNotFoundError:
                pass
            os.close(self._lock_fd)  # releases the lock; the lock file itself stays
            self._lock_fd = None
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        logs.info("exit", uptime_s=time.time() - self.started)

    def _close_sockets(self) -> None:
        if self._monitor is not None:
            try:
                self._router.disable_monitor()
            except zmq.ZMQError:
                pass
            self._monitor.close(linger=0)
            self._monitor = None
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._router is not None:
            self._router.close(linger=1000)
            self._router = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    # ------------------------------------------------------------------ messages
    def _send(self, identity: bytes | ChannelPeer, header: dict | bytes | bytearray, frames=()) -> None:
        """Send a reply: a JSON header (dict) and its frames, or a call reply's one frame (bytes).
        A call channel's peer gets its reply there (calls only: no frames beside the header)."""
        if isinstance(identity, ChannelPeer):
            if self.channels is not None:
                self.channels.send(identity, header)
            return
        try:
            msg = [header] if isinstance(header, (bytes, bytearray)) else P.encode(header, frames)
        except BooError as e:
            msg = P.encode(P.error_reply(header if isinstance(header, dict) else None, e))
        try:
            self._router.send_multipart([identity, *msg], copy=False)
        except zmq.ZMQError as e:
            logs.warning("send_failed", reason=str(e))

    def _on_message(self, frames: list) -> None:
        received = time.perf_counter()
        identity = frames[0].bytes
        parts = frames[1:]
        if not parts:
            return
        if P.is_call(parts[0].buffer):
            self._on_call(identity, parts, received)
            return
        req_header = None
        try:
            req_header = P.decode_header(parts[0].buffer)
            header = P.validate_request(req_header, len(parts) - 1)
        except Exception as e:  # noqa: BLE001 - ProtocolError, or anything a hostile header provokes
            with self.stats.lock:
                self.stats.bad_messages += 1
            if isinstance(e, BooError):
                logs.warning("bad_message", reason=str(e)[:300], frames=len(parts))
            else:
                logs.error("internal_error", where="validate", reason=f"{type(e).__name__}: {e}"[:300])
                e = P.ProtocolError(f"malformed message ({type(e).__name__})")
            self._send(identity, P.error_reply(req_header if isinstance(req_header, dict) else None, e))
            return
        if self._stopping:
            self._send(identity, P.error_reply(header, "the daemon is shutting down",
                                               code=MIOpenStatus.NotInitialized))
            return
        req = _Request(identity, header, parts[1:], received=received, nbytes=sum(len(f) for f in parts[1:]))
        if header["op"] == "run":
            # Who sent it (SO_PEERCRED on ipc): shared memory is served only to its creator.
            req.peer = shm.peer_credentials(parts[0].get("Peer-Address"))
        self._admit(req)

    def _on_call(self, identity: bytes, parts: list, received: float) -> None:
        """A hot call on the ZeroMQ socket: one binary frame (see `_take_call`)."""
        if len(parts) != 1:
            with self.stats.lock:
                self.stats.bad_messages += 1
            logs.warning("bad_message", reason="a call of more than one frame", frames=len(parts))
            self._send(identity, P.error_reply({"op": P.CALL_OP}, P.ProtocolError(
                f"call: {len(parts)} frames; a call is one frame (header, then the inputs)")))
            return
        reply = self._take_call(identity, parts[0].buffer, received)
        if reply is not None:
            self._send(identity, reply)

    def _channel_call(self, frame: memoryview, peer: ChannelPeer) -> bytearray | dict | None:
        """A call frame from a call channel (channels.py): see `_take_call`."""
        return self._take_call(peer, frame, time.perf_counter())

    def _take_call(self, identity: bytes | ChannelPeer, frame, received: float) -> bytearray | dict | None:
        """A hot call: a binary header naming a plan, then the inputs (or, from a call channel,
        where they lie in the caller's segment). Returns the reply to send now (an error, or
        the result of the express lane), or None when the call was queued like any request
        (its reply leaves through `_send`). Checked further in `_op_call`."""
        try:
            if P.call_kind(frame) == 3 and isinstance(identity, ChannelPeer):
                request_id, plan_id, segment, offsets = P.decode_shm_call(frame)
                payload = b""
            else:  # (a shared-memory call on the ZeroMQ socket fails here on its kind)
                request_id, plan_id, payload = P.decode_call(frame)
                segment = None
        except BooError as e:
            with self.stats.lock:
                self.stats.bad_messages += 1
            logs.warning("bad_message", reason=str(e)[:300])
            return P.error_reply({"op": P.CALL_OP}, e)
        header = {"op": P.CALL_OP, "id": request_id, "plan": plan_id}
        if self._stopping:
            return P.error_reply(header, "the daemon is shutting down", code=MIOpenStatus.NotInitialized)
        if segment is not None:
            header["shm"] = (segment, offsets)  # big by nature: queued like any request
        elif identity not in self._clients:
            # The express lane: a small plan of a client with nothing running or queued runs
            # right here and its reply leaves at once: no request record, no reply queue. What
            # it skips (ordering, bounds) only matters when the client has something queued.
            plan = self.plans.get(plan_id)
            if (plan is not None and plan.inline and len(payload) == sum(plan.in_nbytes)
                    and plan.out_nbytes <= self.cfg.max_frame_bytes):
                return self._call_here(request_id, plan, payload, received)
        self._admit(_Request(identity, header, [payload], received=received, nbytes=len(payload)))
        return None

    def _call_here(self, request_id: int, plan: Plan, payload, received: float) -> bytearray | dict:
        """Run a small plan's call on this thread: the reply frame, or an error reply."""
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.ops[P.CALL_OP] = self.stats.ops.get(P.CALL_OP, 0) + 1
            self.stats.kernel_hits += 1
        try:
            return self._plan_reply(plan, payload, request_id, received)
        except Exception as e:  # noqa: BLE001 - every call gets a reply
            with self.stats.lock:
                self.stats.errors += 1
            logs.error("internal_error", op=P.CALL_OP, reason=f"{type(e).__name__}: {e}"[:300])
            return P.error_reply({"op": P.CALL_OP, "id": request_id}, e)

    def _admit(self, req: _Request) -> None:
        """Start a validated request now if its client has nothing running, else queue it behind
        (within the bounds)."""
        identity, header = req.identity, req.header
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.ops[req.op] = self.stats.ops.get(req.op, 0) + 1
        q = self._clients.get(identity)
        if q is None:
            self._clients[identity] = deque()
            self._start(req)
            return
        cfg, why = self.cfg, None
        if len(q) >= cfg.max_queued_per_client:
            why = f"more than {cfg.max_queued_per_client} requests queued for this client"
        elif self._queued >= cfg.max_queued:
            why = f"more than {cfg.max_queued} requests queued in the daemon"
        elif self._queued_bytes + req.nbytes > cfg.max_queued_bytes:
            why = f"queued requests would hold more than {cfg.max_queued_bytes >> 20} MiB of tensors"
        if why:
            with self.stats.lock:
                self.stats.errors += 1
            self._send(identity, P.error_reply(header, P.Overloaded(why + "; retry later")))
            return
        q.append(req)
        self._queued += 1
        self._queued_bytes += req.nbytes

    def _finish(self, req: _Request, header: dict, frames=()) -> None:
        """Thread-safe: queue a reply; the main loop sends it and starts the client's next request.
        `header` is a JSON reply (dict) or a call reply's binary header (bytes, always a success)."""
        if isinstance(header, dict) and not header.get("ok"):
            with self.stats.lock:
                self.stats.errors += 1
        if isinstance(header, dict):
            header.setdefault("elapsed_ms", round((time.perf_counter() - req.received) * 1e3, 3))
        self._replies.put((req, header, frames))
        if threading.current_thread() is not threading.main_thread():
            self._wake()

    def _fail(self, req: _Request, exc: BaseException) -> None:
        if not isinstance(exc, BooError):
            logs.error("internal_error", op=req.op, reason=f"{type(exc).__name__}: {exc}")
        else:
            logs.info("request_failed", op=req.op, code=int(exc.status), reason=str(exc)[:300])
        self._finish(req, P.error_reply(req.header, exc))

    def _flush_replies(self) -> None:
        while not self._replies.empty():  # (an Empty raised on every turn costs more)
            try:
                req, header, frames = self._replies.get_nowait()
            except queue.Empty:
                return
            self._inflight -= 1
            if self._router is not None:
                self._send(req.identity, header, frames)
            if logs.debug_enabled():
                logs.debug("reply", op=req.op, id=req.header.get("id"),
                           ok=header.get("ok") if isinstance(header, dict) else True,
                           ms=header.get("elapsed_ms") if isinstance(header, dict) else None)
            q = self._clients.get(req.identity)
            if q:
                nxt = q.popleft()
                self._queued -= 1
                self._queued_bytes -= nxt.nbytes
                self._start(nxt)
            else:
                self._clients.pop(req.identity, None)

    def _start(self, req: _Request) -> None:
        self._inflight += 1
        try:
            self._handlers[req.op](req)
        except Exception as e:  # noqa: BLE001 - every request gets a reply
            self._fail(req, e)

    # ------------------------------------------------------------------ compile bookkeeping
    def compiled(self, sig, strategy: str) -> tuple[cf.Future, bool]:
        """(future of the compile info for `sig`, joined an in-flight compile): `CompileService.compiled`."""
        return self.compiles.compiled(sig, strategy)

    def _kernel(self, sig, strategy: str):
        from boo_shim.runtime import device_for

        k = self.loaded.get(sig, self.target, cache_dir=self.cache_dir, strategy=strategy,
                            device_uri=device_for(sig, self.target, self.cfg.device))
        self.compiles.mark_ready(sig, strategy)
        return k

    def _after_compile(self, req: _Request, sig, strategy: str, job) -> None:
        """Run `job(info)` on the call pool once `sig` is compiled (immediately if it is known)."""
        if self.compiles.is_ready(sig, strategy):
            with self.stats.lock:
                self.stats.kernel_hits += 1
            info = {"cache_hit": True, "compile_seconds": 0.0, "joined": False, "source": "memory"}
            if self._run_here(req, sig):
                job(info)  # exceptions reach _start, which replies with the error
            else:
                self._submit_call(req, job, info)
            return
        fut, joined = self.compiled(sig, strategy)

        def go(f: cf.Future) -> None:
            try:
                info = f.result()
            except BaseException as e:  # noqa: BLE001
                self._fail(req, e)
                return
            self._submit_call(req, job, {**info, "joined": joined})

        fut.add_done_callback(go)

    def _run_here(self, req: _Request, sig) -> bool:
        """Run a call on the main thread when it is known to be tiny: a handoff to the call pool
        costs more than such a kernel (and a lot more on a loaded machine). Other clients wait at
        most `inline_run_max_us` for it."""
        limit = self.cfg.inline_run_max_us
        if not limit or req.op != "run" or req.header.get("output") is not None:
            return False
        if any(t.shm is not None for t in req.header["inputs"]):
            return False
        if sum(len(f) for f in req.frames) > (256 << 10):
            return False
        from boo_shim.runtime import SYNC_MAX_FLOPS

        if sig.flops <= SYNC_MAX_FLOPS:
            # known small from its shape (it runs on local-sync, on this thread): no need to
            # wait for timings, which a loaded machine inflates past the limit anyway
            return True
        with self.stats.lock:
            ent = self.stats.calls.get(func_name(sig))
            return bool(ent and ent[0] >= 3 and ent[1] / ent[0] * 1e6 < limit)

    def _submit_call(self, req: _Request, job, info: dict) -> None:
        def wrapped():
            try:
                job(info)
            except BaseException as e:  # noqa: BLE001
                self._fail(req, e)

        try:
            self._calls.submit(wrapped)
        except RuntimeError as e:  # the pool is shut down (forced exit)
            self._fail(req, BooError(f"daemon stopping: {e}"))

    def _parse_sig(self, req: _Request):
        return self._sig_info(req).signature

    def _sig_info(self, req: _Request) -> SignatureInfo:
        """The request's signature, read as a peer's (`protocol.signature_from_wire`), cached."""
        return signature_info(req.header["signature"], from_peer=True)

    # ------------------------------------------------------------------ ops
    def hello_info(self) -> dict:
        return {
            "boo": BOO_VERSION, "protocol": P.PROTOCOL_VERSION, "iree_compiler": _versions()["iree-base-compiler"],
            "iree_runtime": _versions()["iree-base-runtime"], "target": self.target.spec,
            "device": self.cfg.device or self.target.driver, "pid": os.getpid(), "endpoint": self.endpoint,
            "cache_dir": self.cache_dir, "workers": self.workers, "max_frame_bytes": self.cfg.max_frame_bytes,
            "shm_threshold": self.cfg.shm_threshold, "uptime_s": round(time.time() - self.started, 3),
            "calls": self.channels.path if self.channels is not None else None,
        }

    def _op_hello(self, req: _Request) -> None:
        self._finish(req, P.ok_reply(req.header, **self.hello_info()))

    def snapshot(self) -> dict:
        head = {"uptime_s": round(time.time() - self.started, 3), "pid": os.getpid(), "endpoint": self.endpoint,
                "target": self.target.spec, "device": self.cfg.device or self.target.driver,
                "cache_dir": self.cache_dir, "workers": self.workers}
        live = {"compiles_in_flight": self.compiles.in_flight(), "inflight": self._inflight,
                "queued": sum(len(q) for q in list(self._clients.values())), "clients_busy": len(self._clients),
                "loaded_kernels": len(self.loaded), "shm_attached": len(self.shm),
                "channel_connections": len(self.channels) if self.channels is not None else 0,
                "channel_refused": self.channels.refused if self.channels is not None else 0}
        return self.stats.snapshot(head, live)

    def _op_stats(self, req: _Request) -> None:
        # `inflight` counts this stats request itself; report the others.
        snap = self.snapshot()
        snap["inflight"] -= 1
        self._finish(req, P.ok_reply(req.header, stats=snap))

    def _op_shutdown(self, req: _Request) -> None:
        logs.info("shutdown_requested")
        self._finish(req, P.ok_reply(req.header, pid=os.getpid()))
        self._stopping = True

    def _op_compile(self, req: _Request) -> None:
        sig = self._parse_sig(req)
        strategy = req.header.get("strategy", self.cfg.strategy)

        def job(info):
            k = self._kernel(sig, strategy)
            self._finish(req, P.ok_reply(req.header, func_name=sig.func_name, key=sig.key,
                                         vmfb=str(k.compiled.entry.vmfb_path), strategy=k.compiled.strategy,
                                         cache_hit=bool(info.get("cache_hit")),
                                         compile_seconds=round(info.get("compile_seconds", 0.0), 4),
                                         joined=bool(info.get("joined"))))

        self._after_compile(req, sig, strategy, job)

    def _op_run(self, req: _Request) -> None:
        sig_info = self._sig_info(req)
        sig, wire_dtype, want, out_nbytes = (sig_info.signature, sig_info.wire_dtype, sig_info.arg_shapes,
                                             sig_info.result_nbytes)
        strategy = req.header.get("strategy", self.cfg.strategy)
        specs: list[P.TensorSpec] = req.header["inputs"]
        if len(specs) != len(want):
            raise SignatureError("inputs", f"{sig.func_name} takes {len(want)} tensors, got {len(specs)}")
        for i, (spec, shape) in enumerate(zip(specs, want)):
            if spec.dtype != wire_dtype or spec.shape != shape:
                raise SignatureError("inputs", f"tensor {i}: {spec.dtype}{list(spec.shape)} != expected "
                                               f"{wire_dtype}{list(shape)}")
        for spec in specs:
            if spec.inline is not None and len(req.frames[spec.inline]) != spec.nbytes:
                raise P.ProtocolError(f"frame {spec.inline}: {len(req.frames[spec.inline])} bytes, "
                                      f"expected {spec.nbytes} for {spec.dtype}{list(spec.shape)}")
        out_ref: P.ShmRef | None = req.header["output"]
        if out_ref is not None and out_ref.nbytes != out_nbytes:
            raise P.ProtocolError(f"run.output.shm.nbytes {out_ref.nbytes} != {out_nbytes} bytes of the result")
        if out_ref is None and out_nbytes > self.cfg.max_frame_bytes:
            raise P.Overloaded(f"the result is {out_nbytes} bytes, over the {self.cfg.max_frame_bytes}-byte "
                               "frame limit; pass an output in shared memory")
        if out_ref is not None or any(t.shm is not None for t in specs):
            self._check_shm_peer(req)

        def job(info):
            self._run_call(req, sig, strategy, specs, out_ref, wire_dtype)

        self._after_compile(req, sig, strategy, job)

    def _op_plan(self, req: _Request) -> None:
        """Register a signature for hot calls (compiling it first if need be): the reply's `plan`
        id is what each call then names. The same signature and strategy get the same id."""
        sig_info = self._sig_info(req)
        sig, wire_dtype = sig_info.signature, sig_info.wire_dtype
        strategy = req.header.get("strategy", self.cfg.strategy)

        def job(info):
            plan = self._register_plan(sig_info, strategy, self._kernel(sig, strategy))
            self._finish(req, P.ok_reply(
                req.header, plan=plan.plan_id, func_name=sig.func_name,
                inputs=[{"dtype": wire_dtype, "shape": list(s)} for s in sig_info.arg_shapes],
                output={"dtype": wire_dtype, "shape": list(sig_info.result_shape)}, inline=plan.inline,
                calls=self.channels.path if self.channels is not None else None,
                cache_hit=bool(info.get("cache_hit")), compile_seconds=round(info.get("compile_seconds", 0.0), 4)))

        self._after_compile(req, sig, strategy, job)

    def _register_plan(self, info: SignatureInfo, strategy: str, kernel) -> Plan:
        from boo_shim.runtime import SYNC_MAX_FLOPS

        sig, dtype = info.signature, info.np_dtype
        in_nbytes = tuple(int(np.prod(s)) * dtype.itemsize for s in info.arg_shapes)
        inline = bool(self.cfg.inline_run_max_us) and sig.flops <= SYNC_MAX_FLOPS and \
            sum(in_nbytes) + info.result_nbytes <= (256 << 10)
        return self.plans.register(sig, strategy, kernel, dtype=dtype, in_shapes=info.arg_shapes,
                                   in_nbytes=in_nbytes, out_shape=info.result_shape,
                                   out_nbytes=info.result_nbytes, inline=inline)

    def _named_plan(self, plan_id: int) -> Plan:
        plan = self.plans.get(plan_id)
        if plan is None:
            raise P.UnknownPlan(f"call: no plan {plan_id} in this daemon (it restarted or evicted "
                                "it); register the signature again (op 'plan')")
        return plan

    def _checked_plan(self, plan_id: int, input_nbytes: int) -> Plan:
        """The plan a call names, checked against the call's input bytes."""
        plan = self._named_plan(plan_id)
        if input_nbytes != sum(plan.in_nbytes):
            raise P.ProtocolError(f"call: {input_nbytes} bytes of inputs; {plan.sig.func_name} takes "
                                  f"{' + '.join(map(str, plan.in_nbytes))}")
        if plan.out_nbytes > self.cfg.max_frame_bytes:
            raise P.Overloaded(f"the result is {plan.out_nbytes} bytes, over the {self.cfg.max_frame_bytes}-byte "
                               "frame limit; use op 'run' with an output in shared memory")
        return plan

    def _op_call(self, req: _Request) -> None:
        if "shm" in req.header:
            self._op_shm_call(req)
            return
        plan = self._checked_plan(req.header["plan"], len(req.frames[0]))
        with self.stats.lock:
            self.stats.kernel_hits += 1
        if plan.inline:
            self._run_plan(req, plan)  # exceptions reach _start, which replies with the error
        else:
            self._submit_call(req, lambda _info: self._run_plan(req, plan), {})

    def _op_shm_call(self, req: _Request) -> None:
        """A call whose tensors lie in the caller's segment (call channels only): the kernel
        reads the inputs there and writes the result there (`Kernel.writes_into`)."""
        plan = self._named_plan(req.header["plan"])
        segment, offsets = req.header["shm"]
        sizes = (*plan.in_nbytes, plan.out_nbytes)
        if len(offsets) != len(sizes):
            raise P.ProtocolError(f"shm call: {len(offsets)} offsets; {plan.sig.func_name} has "
                                  f"{len(plan.in_nbytes)} inputs and an output")
        refs = [P.ShmRef(segment, off, n) for off, n in zip(offsets, sizes)]
        with self.stats.lock:
            self.stats.kernel_hits += 1
        if plan.inline:
            self._run_shm_plan(req, plan, refs)  # a hand-off to the call pool would cost more
        else:
            self._submit_call(req, lambda _info: self._run_shm_plan(req, plan, refs), {})

    def _run_shm_plan(self, req: _Request, plan: Plan, refs: list) -> None:
        tokens, views = [], []
        ok = False
        try:
            for ref in refs:
                tok, buf = self.shm.acquire(ref, req.identity.pid)
                tokens.append(tok)
                views.append(buf)
            inputs = [np.frombuffer(v, dtype=plan.dtype).reshape(s) for v, s in zip(views, plan.in_shapes)]
            out = np.frombuffer(views[-1], dtype=plan.dtype).reshape(plan.out_shape)
            t0 = time.perf_counter()
            plan.kernel.run(*inputs, out=out, check=False)
            seconds = time.perf_counter() - t0
            ok = True
        finally:
            if not ok:
                self.stats.call(plan.sig, 0.0, False)
            inputs = out = None
            self._release_segments(views, tokens)
        self.stats.call(plan.sig, seconds, True)
        self._finish(req, P.shm_call_reply(req.header["id"], seconds * 1e3,
                                           (time.perf_counter() - req.received) * 1e6))

    def _release_segments(self, views: list, tokens: list) -> None:
        """Give back what `self.shm.acquire` lent a call (views first: a segment whose view is
        still exported cannot be unmapped)."""
        for v in views:
            try:
                v.release()
            except BufferError:
                pass
        for tok in tokens:
            self.shm.release(tok)

    def _run_plan(self, req: _Request, plan: Plan) -> None:
        self._finish(req, self._plan_reply(plan, req.frames[0], req.header["id"], req.received))

    def _plan_reply(self, plan: Plan, payload, request_id: int, received: float) -> bytearray:
        """Run a plan on a call's input bytes: the reply frame."""
        # Inline plans run on the main thread only, so its PreparedCall (input buffers imported
        # into IREE once) is never shared; other threads import the frames where they lie.
        prepared = plan.kernel.prepared() if plan.inline else None
        inputs, offset = [], 0
        for nbytes in plan.in_nbytes:
            inputs.append(payload[offset:offset + nbytes])
            offset += nbytes
        frame, result_bytes = P.call_reply_buffer(plan.out_nbytes)
        out = np.frombuffer(result_bytes, dtype=plan.dtype).reshape(plan.out_shape)
        t0 = time.perf_counter()
        try:
            if prepared is not None:
                prepared(*inputs, out=out)
            else:
                plan.kernel.run(*(np.frombuffer(b, dtype=plan.dtype).reshape(shape)
                                  for b, shape in zip(inputs, plan.in_shapes)), out=out, check=False)
        except BaseException:
            self.stats.call(plan.sig, 0.0, False)
            raise
        seconds = time.perf_counter() - t0
        self.stats.call(plan.sig, seconds, True)
        del out, result_bytes, inputs, payload
        P.seal_call_reply(frame, request_id, seconds * 1e3, (time.perf_counter() - received) * 1e6)
        return frame

    def _check_shm_peer(self, req: _Request) -> None:
        """Shared memory only from an ipc peer of our uid (tcp peers carry no credentials)."""
        if req.peer is None:
            raise P.ProtocolError("shared memory is served only over an ipc endpoint (the daemon could not "
                                  "identify the peer process); send tensors inline")
        if req.peer[0] != os.getuid():
            raise P.ProtocolError(f"shared memory refused: the peer runs as uid {req.peer[0]}")

    def _run_call(self, req, sig, strategy, specs, out_ref, wire_dtype) -> None:
        kernel = self._kernel(sig, strategy)
        dt = P.dtype_from_wire(wire_dtype)
        tokens, views = [], []
        inputs = []
        ok = False
        t0 = time.perf_counter()
        try:
            for spec in specs:
                if spec.inline is not None:
                    buf = req.frames[spec.inline].buffer
                else:
                    tok, buf = self.shm.acquire(spec.shm, req.peer[1])
                    tokens.append(tok)
                    views.append(buf)
                inputs.append(np.frombuffer(buf, dtype=dt).reshape(spec.shape))  # runtime aligns it
            if out_ref is not None:
                tok, buf = self.shm.acquire(out_ref, req.peer[1])
                tokens.append(tok)
                views.append(buf)
                out = np.frombuffer(buf, dtype=dt).reshape(sig.result_shape)
                t0 = time.perf_counter()
                kernel.run(*inputs, out=out, check=False)
                seconds = time.perf_counter() - t0
                del out
                reply = P.ok_reply(req.header, output={"dtype": wire_dtype, "shape": list(sig.result_shape),
                                                        "shm": out_ref.to_wire()},
                                   kernel_ms=round(seconds * 1e3, 4),
                                   daemon_us=round((time.perf_counter() - req.received) * 1e6, 1))
                frames = ()
            else:
                t0 = time.perf_counter()
                result = kernel.run(*inputs, check=False)
                seconds = time.perf_counter() - t0
                reply = P.ok_reply(req.header, output={"dtype": wire_dtype, "shape": list(result.shape), "inline": 0},
                                   kernel_ms=round(seconds * 1e3, 4),
                                   daemon_us=round((time.perf_counter() - req.received) * 1e6, 1))
                frames = (result,)
            ok = True
        finally:
            if not ok:
                self.stats.call(sig, 0.0, False)
            del inputs
            self._release_segments(views, tokens)
        self.stats.call(sig, seconds, True)
        self._finish(req, reply, frames)

    def _op_find(self, req: _Request) -> None:
        sig = self._parse_sig(req)
        strategy = req.header.get("strategy", self.cfg.strategy)
        iters, warmup = req.header["iters"], req.header["warmup"]
        item = P.dtype_from_wire(P.dtype_to_wire(sig.dtype)).itemsize
        need = sum(int(np.prod(s)) for s in [*sig.arg_shapes, sig.result_shape]) * item
        if need > self.cfg.max_find_bytes:
            raise P.Overloaded(f"find would allocate {need} bytes of tensors, over the "
                               f"{self.cfg.max_find_bytes}-byte limit")

        def job(info):
            kernel = self._kernel(sig, strategy)
            rng = np.random.default_rng(0)
            dt = kernel.in_dtype
            args = [rng.standard_normal(s, dtype=np.float32).astype(dt) for s in sig.arg_shapes]
            for _ in range(warmup):
                kernel.run(*args, check=False)
            times = []
            for _ in range(iters):
                t0 = time.perf_counter()
                kernel.run(*args, check=False)
                times.append((time.perf_counter() - t0) * 1e3)
            times.sort()
            self._finish(req, P.ok_reply(
                req.header, func_name=sig.func_name, iters=iters, min_ms=round(times[0], 5),
                mean_ms=round(sum(times) / len(times), 5), median_ms=round(times[len(times) // 2], 5),
                max_ms=round(times[-1], 5), device=self.cfg.device or self.target.driver,
                cache_hit=bool(info.get("cache_hit"))))

        self._after_compile(req, sig, strategy, job)

    def _op_warm(self, req: _Request) -> None:
        from boo_shim.conv import ConvSignature
        from boo_shim.grammar import parse_command

        strategy = req.header.get("strategy", self.cfg.strategy)
        lines = req.header["lines"]
        results: list[dict] = []
        pending: list[tuple[int, object, cf.Future]] = []
        for i, line in enumerate(lines):
            shown = line if isinstance(line, str) else json.dumps(line)
            ent = {"line": shown[:300], "ok": True, "signatures": [], "compiled": 0, "cache_hits": 0}
            results.append(ent)
            try:
                if isinstance(line, dict):
                    sigs = [ConvSignature.from_dict(line)]
                else:
                    if not line.strip() or line.lstrip().startswith("#"):
                        ent["skipped"] = True
                        continue
                    sigs = list(parse_command(line).signatures)
            except BooError as e:
                ent.update(ok=False, code=int(e.status), reason=str(e))
                continue
            except (TypeError, ValueError) as e:
                ent.update(ok=False, code=int(MIOpenStatus.BadParm), reason=str(e))
                continue
            for sig in sigs:
                ent["signatures"].append(sig.func_name)
                pending.append((i, sig))
        # Compiles are fed a few at a time (one request used to queue all 4096 at once), so a
        # warm leaves room in the compile queue for everyone else.
        window = max(2, min(2 * self.workers, self.cfg.max_pending_compiles // 4))
        state = {"next": 0, "running": 0, "left": len(pending)}
        lock = threading.Lock()

        def finish():
            ok = sum(1 for r in results if r["ok"])
            self._finish(req, P.ok_reply(req.header, results=results, lines_ok=ok,
                                         lines_failed=len(results) - ok))

        if not pending:
            finish()
            return

        def record(i, f: cf.Future) -> bool:
            """Note one compile's outcome; True when it was the last."""
            ent = results[i]
            with lock:
                try:
                    info = f.result()
                    ent["cache_hits" if info.get("cache_hit") else "compiled"] += 1
                except BaseException as e:  # noqa: BLE001
                    ent.update(ok=False, code=int(getattr(e, "status", MIOpenStatus.InternalError)),
                               reason=str(e))
                state["running"] -= 1
                state["left"] -= 1
                return state["left"] == 0

        def pump() -> None:
            while True:
                with lock:
                    if state["next"] >= len(pending) or state["running"] >= window:
                        return
                    i, sig = pending[state["next"]]
                    state["next"] += 1
                    state["running"] += 1
                try:
                    fut = self.compiled(sig, strategy)[0]
                except BaseException as e:  # noqa: BLE001 - e.g. Overloaded: this line fails, the rest go on
                    fut = cf.Future()
                    fut.set_exception(e)
                if fut.done():  # handled here: no callback recursion through thousands of cache hits
                    if record(i, fut):
                        finish()
                    continue

                def cb(f: cf.Future, i=i) -> None:
                    if record(i, f):
                        finish()
                    else:
                        pump()

                fut.add_done_callback(cb)

        pump()


@functools.lru_cache(maxsize=1)
@functools.cache
def _versions() -> dict:
    import importlib.metadata as md

    out = {}
    for name in ("iree-base-compiler", "iree-base-runtime"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def _read_info(endpoint: str) -> dict:
    try:
        return json.loads(endpoints.endpoint_state_path(endpoint, ".pid").read_text())
    except (OSError, ValueError):
        return {}


read_info = _read_info
