"""The boo daemon's wire protocol, shared by the daemon, the Python client and the shim.

Transport: ZeroMQ. The daemon binds a ROUTER socket, clients connect DEALER sockets. Every
message (request or reply) is a multipart message

    [header, tensor frame 0, tensor frame 1, ...]

`header` is UTF-8 JSON (an object, at most `MAX_HEADER_BYTES`); tensor frames are raw bytes in
the tensor's layout and dtype (C order, no padding). Nothing is ever pickled.

Request header: `{"v": PROTOCOL_VERSION, "op": <op>, "id": <int>, ...op fields}`.
Reply header:   `{"v": PROTOCOL_VERSION, "op": <op>, "id": <same id>, "ok": true, ...}` or
                `{"v": ..., "id": ..., "ok": false, "code": <miopenStatus_t>, "reason": <text>,
                  "error": <error class name>}`.

A tensor is described by a *tensor spec*:
    `{"dtype": "f32"|"f16"|"bf16", "shape": [ints], "inline": <frame index>}` or
    `{"dtype": ..., "shape": ..., "shm": {"name": <segment>, "offset": <int>, "nbytes": <int>}}`
where the frame index counts tensor frames (0 = the first frame after the header) and `shm`
names a POSIX shared-memory segment the client created (see `ShmAttachments`).

See docs/daemon.md for every op's fields.
"""

from __future__ import annotations

import atexit
import errno
import json
import math
import os
import re
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import config, dtypes
from .errors import BooError, MIOpenStatus, SignatureError

__all__ = [
    "PROTOCOL_VERSION",
    "OPS",
    "DTYPES",
    "MAX_HEADER_BYTES",
    "MAX_FRAMES",
    "MAX_TENSOR_BYTES",
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_SHM_THRESHOLD",
    "SHM_NAME_RE",
    "ProtocolError",
    "DaemonError",
    "DaemonUnavailable",
    "DaemonTimeout",
    "TensorSpec",
    "ShmRef",
    "encode",
    "decode_header",
    "request_header",
    "ok_reply",
    "error_reply",
    "error_from_reply",
    "validate_request",
    "signature_to_wire",
    "signature_from_wire",
    "dtype_to_wire",
    "dtype_from_wire",
    "tensor_nbytes",
    "array_spec",
    "attach_shm",
    "ShmAttachments",
    "default_endpoint",
    "runtime_dir",
    "endpoint_state_path",
    "ipc_path",
    "is_loopback_endpoint",
    "Overloaded",
    "ShmSegment",
    "SHM_CLIENT_RE",
    "peer_credentials",
    "sweep_orphan_segments",
    "pid_alive",
    "check_state_dir",
    "config_dir",
    "curve_dir",
    "ensure_curve_keys",
    "find_curve_keys",
]

PROTOCOL_VERSION = 1
OPS = ("hello", "compile", "run", "find", "warm", "stats", "shutdown")

MAX_HEADER_BYTES = 64 * 1024
MAX_FRAMES = 16  # tensor frames per message
MAX_RANK = 8
MAX_TENSOR_BYTES = 1 << 40  # 1 TiB: a sanity bound on prod(shape) * itemsize
DEFAULT_MAX_FRAME_BYTES = 1 << 30  # the daemon drops peers that send a bigger frame (ZMQ_MAXMSGSIZE)
DEFAULT_SHM_THRESHOLD = 1 << 20  # tensors of at least this many bytes go through shared memory
MAX_SIGNATURE_CHARS = 8192
MAX_WARM_LINES = 4096
MAX_FIND_ITERS = 100_000
MAX_REQUEST_ID = (1 << 63) - 1
# Nesting bound for headers: real ones nest 4 deep (run.inputs[i].shm); json.loads recurses in C
# and a 64 KiB header of '[' raises RecursionError (it used to end the daemon).
MAX_JSON_DEPTH = 32

# Segment names the daemon will open: no slashes, no dots-only names, bounded length.
SHM_NAME_RE = re.compile(r"^/?boo[A-Za-z0-9_-]{1,120}$")
# What clients create: `boo-<creator pid>-<random hex>`. The daemon maps a segment only when the
# pid in its name is the pid of the peer that names it (and the segment is private to our uid),
# and it unlinks such segments once their creator is dead.
SHM_CLIENT_RE = re.compile(r"^/?boo-([0-9]{1,10})-[0-9a-f]{8,64}$")

# Wire dtype names (the dtype names boo uses in function names) -> numpy dtypes.
DTYPES = tuple(d.wire for d in dtypes.ALL)
_NP = {d.wire: d.numpy for d in dtypes.ALL}
_NP_TO_WIRE = {v: k for k, v in _NP.items()}


# --------------------------------------------------------------------------------- errors
class ProtocolError(BooError):
    """A malformed message (either direction)."""

    status = MIOpenStatus.BadParm


class DaemonError(BooError):
    """An error the daemon reported; `status` is the MIOpen status it sent."""

    def __init__(self, reason: str, status: int | MIOpenStatus = MIOpenStatus.UnknownError,
                 remote_type: str | None = None):
        Exception.__init__(self, reason)  # not super(): the Remote* mixins' __init__ differ
        try:
            self.status = MIOpenStatus(int(status))
        except ValueError:
            self.status = MIOpenStatus.UnknownError
        self.reason = reason
        self.remote_type = remote_type


class Overloaded(BooError):
    """A bound was hit (queued requests, pending compiles, tensor bytes): retry later or smaller."""

    status = MIOpenStatus.AllocFailed


class DaemonUnavailable(BooError):
    """No daemon answers at the endpoint (not running, crashed, or unreachable)."""

    status = MIOpenStatus.NotInitialized


class DaemonTimeout(DaemonUnavailable):
    """The daemon did not answer within the request's timeout."""


# Remote error class names that map back onto boo's own classes (so `except SignatureError`
# works the same in-process and through the daemon).
def _remote_class(name: str | None, status: MIOpenStatus) -> type[BooError]:
    from . import errors

    cls = {
        "SignatureError": errors.SignatureError,
        "UnsupportedError": errors.UnsupportedError,
        "CompileError": errors.CompileError,
        "ProtocolError": ProtocolError,
        "Overloaded": Overloaded,
    }.get(name or "")
    if cls is None:
        return DaemonError
    # A subclass of both, so callers can catch either the specific class or DaemonError.
    return _REMOTE_SUBCLASSES.setdefault(cls, type("Remote" + cls.__name__, (DaemonError, cls), {}))


_REMOTE_SUBCLASSES: dict[type, type] = {}


def error_from_reply(header: dict) -> BooError:
    """The exception a failed reply stands for (a `DaemonError`, also an instance of the
    matching boo error class: `SignatureError`, `UnsupportedError`, `CompileError`...)."""
    code = header.get("code", int(MIOpenStatus.UnknownError))
    reason = str(header.get("reason", "unknown daemon error"))
    remote = header.get("error")
    try:
        status = MIOpenStatus(int(code))
    except (TypeError, ValueError):
        status = MIOpenStatus.UnknownError
    cls = _remote_class(remote, status)
    exc = cls(reason, status, remote)
    if isinstance(exc, SignatureError):
        exc.field = reason.split(":", 1)[0] if ":" in reason else "signature"
    return exc


# --------------------------------------------------------------------------------- framing
def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def encode(header: dict, frames: Sequence = ()) -> list:
    """[header bytes, *frames]; frames may be bytes, memoryviews or contiguous numpy arrays."""
    blob = json.dumps(header, separators=(",", ":"), default=_json_default).encode()
    if len(blob) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header is {len(blob)} bytes; the limit is {MAX_HEADER_BYTES}")
    if len(frames) > MAX_FRAMES:
        raise ProtocolError(f"{len(frames)} tensor frames; the limit is {MAX_FRAMES}")
    out = [blob]
    for f in frames:
        if isinstance(f, np.ndarray):
            f = np.ascontiguousarray(f)
            f = memoryview(f.reshape(-1).view(np.uint8)) if f.size else b""
        out.append(f)
    return out


_JSON_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_depth(blob: bytes) -> int:
    """How deep arrays/objects nest in the JSON text `blob` (brackets inside strings don't count).
    Linear time; the common case (few brackets) costs two `bytes.count`s."""
    opens = blob.count(b"[") + blob.count(b"{")
    if opens <= MAX_JSON_DEPTH:
        return opens
    text = np.frombuffer(_JSON_STRING_RE.sub(b'""', blob), dtype=np.uint8)
    step = np.zeros(len(text), dtype=np.int32)
    step[(text == ord("[")) | (text == ord("{"))] = 1
    step[(text == ord("]")) | (text == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def decode_header(blob: bytes | memoryview) -> dict:
    """Parse and sanity-check a header frame: bounded in size and nesting depth, strict JSON
    (no NaN/Infinity). Raises ProtocolError, never anything else."""
    if len(blob) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header is {len(blob)} bytes; the limit is {MAX_HEADER_BYTES}")
    raw = bytes(blob)
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise ProtocolError(f"header nests {depth} levels deep; the limit is {MAX_JSON_DEPTH}")
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"header is not UTF-8 JSON: {str(e)[:100]}") from None
    except (RecursionError, MemoryError) as e:  # the depth check should make this unreachable
        raise ProtocolError(f"header cannot be parsed: {type(e).__name__}") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"header must be a JSON object, got {type(header).__name__}")
    return header


def request_header(op: str, req_id: int, **fields) -> dict:
    return {"v": PROTOCOL_VERSION, "op": op, "id": req_id, **fields}


def ok_reply(request: dict | None, **fields) -> dict:
    request = request or {}
    return {"v": PROTOCOL_VERSION, "op": request.get("op"), "id": _safe_id(request), "ok": True, **fields}


def error_reply(request: dict | None, exc: BaseException | str,
                code: int | MIOpenStatus | None = None) -> dict:
    """The reply for a failed request. BooErrors keep their status; anything else is an
    InternalError."""
    request = request if isinstance(request, dict) else {}
    if isinstance(exc, BaseException):
        status = getattr(exc, "status", None) if isinstance(exc, BooError) else MIOpenStatus.InternalError
        reason = str(exc) or type(exc).__name__
        name = type(exc).__name__.removeprefix("Remote")
    else:
        status, reason, name = MIOpenStatus.InternalError, str(exc), "DaemonError"
    if code is not None:
        status = code
    return {
        "v": PROTOCOL_VERSION,
        # Echo only a real op: a client dispatching on `op` must not see an attacker's string.
        "op": request.get("op") if isinstance(request.get("op"), str) and request.get("op") in OPS else None,
        "id": _safe_id(request),
        "ok": False,
        "code": int(status if status is not None else MIOpenStatus.UnknownError),
        "reason": reason[:4000],
        "error": name,
    }


def _safe_id(request: dict):
    rid = request.get("id")
    return rid if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= MAX_REQUEST_ID else None


# --------------------------------------------------------------------------------- dtypes/tensors
def dtype_to_wire(dtype) -> str:
    """numpy dtype, torch dtype or name -> 'f32' | 'f16' | 'bf16'."""
    if isinstance(dtype, str) and dtype in _NP:
        return dtype
    try:
        import torch

        if isinstance(dtype, torch.dtype):
            return dtypes.by_torch(dtype).wire
    except ImportError:  # pragma: no cover
        pass
    try:
        return _NP_TO_WIRE[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise ProtocolError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}") from None


def dtype_from_wire(name) -> np.dtype:
    if not isinstance(name, str) or name not in _NP:
        raise ProtocolError(f"dtype {name!r} is not one of {', '.join(DTYPES)}")
    return _NP[name]


def tensor_nbytes(dtype: str, shape: Sequence[int]) -> int:
    return math.prod(shape) * dtype_from_wire(dtype).itemsize


@dataclass(frozen=True)
class ShmRef:
    name: str
    offset: int
    nbytes: int

    def to_wire(self) -> dict:
        return {"name": self.name, "offset": self.offset, "nbytes": self.nbytes}

    @staticmethod
    def from_wire(obj, what: str = "shm") -> "ShmRef":
        if not isinstance(obj, dict) or set(obj) - {"name", "offset", "nbytes"}:
            raise ProtocolError(f"{what}: expected an object with name, offset, nbytes")
        name = obj.get("name")
        if not isinstance(name, str) or not SHM_NAME_RE.match(name):
            raise ProtocolError(f"{what}.name: {str(name)[:80]!r} is not a valid boo segment name "
                                f"(pattern {SHM_NAME_RE.pattern})")
        offset, nbytes = _int_field(obj, "offset", what, 0, MAX_TENSOR_BYTES), _int_field(
            obj, "nbytes", what, 0, MAX_TENSOR_BYTES)
        return ShmRef(name, offset, nbytes)


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]
    inline: int | None = None  # tensor frame index
    shm: ShmRef | None = None

    @property
    def nbytes(self) -> int:
        return tensor_nbytes(self.dtype, self.shape)

    @property
    def np_dtype(self) -> np.dtype:
        return dtype_from_wire(self.dtype)

    def to_wire(self) -> dict:
        out: dict[str, Any] = {"dtype": self.dtype, "shape": list(self.shape)}
        if self.shm is not None:
            out["shm"] = self.shm.to_wire()
        else:
            out["inline"] = self.inline
        return out

    @staticmethod
    def from_wire(obj, nframes: int, what: str = "tensor") -> "TensorSpec":
        """Validate a spec against the number of tensor frames in its message."""
        if not isinstance(obj, dict) or set(obj) - {"dtype", "shape", "inline", "shm"}:
            raise ProtocolError(f"{what}: expected an object with dtype, shape and inline or shm")
        dtype = obj.get("dtype")
        dtype_from_wire(dtype)
        shape = obj.get("shape")
        if (not isinstance(shape, list) or len(shape) > MAX_RANK
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < (1 << 40) for d in shape)):
            raise ProtocolError(f"{what}.shape: expected a list of at most {MAX_RANK} non-negative ints")
        nbytes = tensor_nbytes(dtype, shape)
        if nbytes > MAX_TENSOR_BYTES:
            raise ProtocolError(f"{what}: {nbytes} bytes is over the {MAX_TENSOR_BYTES}-byte limit")
        has_inline, has_shm = "inline" in obj, "shm" in obj
        if has_inline == has_shm:
            raise ProtocolError(f"{what}: give exactly one of inline or shm")
        if has_inline:
            idx = obj["inline"]
            if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < nframes:
                raise ProtocolError(f"{what}.inline: frame index {idx!r} out of range (the message has {nframes} tensor frames)")
            return TensorSpec(dtype, tuple(shape), inline=idx)
        ref = ShmRef.from_wire(obj["shm"], f"{what}.shm")
        if ref.nbytes != nbytes:
            raise ProtocolError(f"{what}.shm.nbytes {ref.nbytes} != prod(shape) * itemsize = {nbytes}")
        return TensorSpec(dtype, tuple(shape), shm=ref)


def array_spec(a: np.ndarray, *, inline: int | None = None, shm: ShmRef | None = None) -> TensorSpec:
    return TensorSpec(dtype_to_wire(a.dtype), tuple(int(d) for d in a.shape), inline=inline, shm=shm)


# --------------------------------------------------------------------------------- signatures
def signature_to_wire(sig) -> str:
    """The canonical MIOpenDriver command (what `ConvSignature.from_command` reads back)."""
    return sig.to_command()


def signature_from_wire(obj):
    """A command string (one direction) or a field dict -> ConvSignature."""
    from .conv import ConvSignature
    from .errors import SignatureError

    if isinstance(obj, str):
        if len(obj) > MAX_SIGNATURE_CHARS:
            raise ProtocolError(f"signature: {len(obj)} characters is over the {MAX_SIGNATURE_CHARS} limit")
        return ConvSignature.from_command(obj)
    if isinstance(obj, dict):
        try:
            return ConvSignature.from_dict(obj)
        except SignatureError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise SignatureError("signature", f"bad field dict: {str(e)[:200]}") from None
    raise ProtocolError(f"signature: expected a command string or a field object, got {type(obj).__name__}")


# --------------------------------------------------------------------------------- validation
def _int_field(h: dict, key: str, what: str, lo: int, hi: int, default=None) -> int:
    v = h.get(key, default)
    if v is None and default is None and key not in h:
        raise ProtocolError(f"{what}: missing field {key!r}")
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ProtocolError(f"{what}.{key}: expected an int in [{lo}, {hi}], got {str(v)[:40]!r}")
    return v


_FIELDS = {
    "hello": {"client"},
    "compile": {"signature", "strategy"},
    "run": {"signature", "inputs", "output", "strategy"},
    "find": {"signature", "iters", "warmup", "strategy"},
    "warm": {"lines", "strategy"},
    "stats": set(),
    "shutdown": set(),
}
_COMMON = {"v", "op", "id"}


def validate_request(header: dict, nframes: int) -> dict:
    """Check a request header's schema; returns the header with defaults filled in.

    Raises ProtocolError (BadParm) naming the bad field. Signatures are only type-checked here;
    parsing them (which may raise SignatureError) is the daemon's job.
    """
    v = header.get("v")
    # An int equal to ours: `true == 1` and `1.0 == 1` in Python, and neither is a version.
    if type(v) is not int or v != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {str(v)[:20]!r} is not supported; this daemon speaks {PROTOCOL_VERSION}")
    op = header.get("op")
    if op not in OPS:
        raise ProtocolError(f"op {str(op)[:40]!r} is not one of {', '.join(OPS)}")
    _int_field(header, "id", "header", 0, MAX_REQUEST_ID)
    extra = set(header) - _COMMON - _FIELDS[op]
    if extra:
        raise ProtocolError(f"{op}: unknown field {sorted(extra)[0][:40]!r}")
    if nframes > MAX_FRAMES:
        raise ProtocolError(f"{nframes} tensor frames; the limit is {MAX_FRAMES}")
    if op != "run" and nframes:
        raise ProtocolError(f"{op}: takes no tensor frames, got {nframes}")
    h = dict(header)
    if "strategy" in h and h["strategy"] not in ("auto", "fast", "export"):
        raise ProtocolError(f"{op}.strategy: expected auto, fast or export")
    validate_op = _OP_VALIDATORS.get(op)
    if validate_op is not None:
        validate_op(h, nframes)
    return h


# What each op adds to the common checks: one function an op, filling in defaults in place.
def _check_signature(op: str, h: dict) -> None:
    if "signature" not in h:
        raise ProtocolError(f"{op}: missing field 'signature'")
    if not isinstance(h["signature"], (str, dict)):
        raise ProtocolError(f"{op}.signature: expected a command string or a field object")


def _validate_hello(h: dict, nframes: int) -> None:
    if "client" in h and not isinstance(h["client"], dict):
        raise ProtocolError("hello.client: expected an object")


def _validate_compile(h: dict, nframes: int) -> None:
    _check_signature("compile", h)


def _validate_run(h: dict, nframes: int) -> None:
    _check_signature("run", h)
    inputs = h.get("inputs")
    if not isinstance(inputs, list) or not 1 <= len(inputs) <= MAX_FRAMES:
        raise ProtocolError(f"run.inputs: expected a list of 1 to {MAX_FRAMES} tensor specs")
    h["inputs"] = [TensorSpec.from_wire(t, nframes, f"run.inputs[{i}]") for i, t in enumerate(inputs)]
    used = sorted(t.inline for t in h["inputs"] if t.inline is not None)
    if used != list(range(nframes)):
        raise ProtocolError(f"run: {nframes} tensor frames sent but inputs use frames {used}")
    out = h.get("output")
    if out is None:
        h["output"] = None
    elif isinstance(out, dict) and set(out) <= {"shm"}:
        h["output"] = ShmRef.from_wire(out["shm"], "run.output.shm") if "shm" in out else None
    else:
        raise ProtocolError("run.output: expected {} (inline) or {\"shm\": {name, offset, nbytes}}")


def _validate_find(h: dict, nframes: int) -> None:
    _check_signature("find", h)
    h["iters"] = _int_field(h, "iters", "find", 1, MAX_FIND_ITERS, default=10)
    h["warmup"] = _int_field(h, "warmup", "find", 0, 1000, default=1)


def _validate_warm(h: dict, nframes: int) -> None:
    lines = h.get("lines")
    if not isinstance(lines, list) or len(lines) > MAX_WARM_LINES:
        raise ProtocolError(f"warm.lines: expected a list of at most {MAX_WARM_LINES} commands")
    for i, line in enumerate(lines):
        if not isinstance(line, (str, dict)) or (isinstance(line, str) and len(line) > MAX_SIGNATURE_CHARS):
            raise ProtocolError(f"warm.lines[{i}]: expected a command string (<= {MAX_SIGNATURE_CHARS} chars) or a "
                                "field object")


_OP_VALIDATORS = {"hello": _validate_hello, "compile": _validate_compile, "run": _validate_run,
                  "find": _validate_find, "warm": _validate_warm}


# --------------------------------------------------------------------------------- shared memory
# Segments are opened with `_posixshmem` (what multiprocessing.shared_memory uses) rather than
# `SharedMemory`: Python 3.11 registers every SharedMemory, even one it merely attaches to, with
# multiprocessing's resource_tracker, which then unlinks the creator's segment (attach side) or
# prints "leaked shared_memory objects" warnings (create side), and the tracker process itself
# outlives a SIGKILLed owner. Here the creator unlinks its own segments (close, atexit), and the
# daemon unlinks those whose creator died (`sweep_orphan_segments`).
import _posixshmem  # noqa: E402
import mmap  # noqa: E402
import weakref  # noqa: E402

SHM_DIR = Path("/dev/shm")  # where Linux keeps POSIX segments (for inode checks and sweeps)
_OWNED: "weakref.WeakSet[ShmSegment]" = weakref.WeakSet()  # segments this process created


def pid_alive(pid: int) -> bool:
    """True unless `pid` is certainly gone (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


class ShmSegment:
    """A mapped POSIX shared-memory segment: created (and later unlinked) by a client, or
    attached by the daemon after ownership checks."""

    def __init__(self, name: str, size: int, mm: mmap.mmap, ino: int, creator: int | None):
        self.name, self.size, self._mmap, self.ino = name, size, mm, ino
        self._creator = creator  # pid that created it here (and must unlink it), else None
        self.buf = memoryview(mm)

    @classmethod
    def create(cls, nbytes: int) -> "ShmSegment":
        import secrets

        pid = os.getpid()
        while True:
            name = f"boo-{pid}-{secrets.token_hex(8)}"
            try:
                fd = _posixshmem.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
                break
            except FileExistsError:
                continue
        try:
            os.ftruncate(fd, max(nbytes, 1))
            mm = mmap.mmap(fd, max(nbytes, 1))
            ino = os.fstat(fd).st_ino
        except BaseException:
            _posixshmem.shm_unlink("/" + name)
            raise
        finally:
            os.close(fd)
        seg = cls(name, max(nbytes, 1), mm, ino, pid)
        _OWNED.add(seg)
        return seg

    @classmethod
    def attach(cls, name: str, peer_pid: int | None = None) -> "ShmSegment":
        """Map an existing segment after checking that it is a regular object private to this
        uid and, when `peer_pid` is given, that it is named for (created by) that process."""
        if not SHM_NAME_RE.match(name):
            raise ProtocolError(f"shm name {name[:80]!r} is not a valid boo segment name")
        if peer_pid is not None:
            m = SHM_CLIENT_RE.match(name)
            if not m or int(m.group(1)) != peer_pid:
                raise ProtocolError(f"shm segment {name!r} was not created by the requesting process "
                                    f"(pid {peer_pid}); name your own boo-<pid>-<hex> segments")
        try:
            fd = _posixshmem.shm_open("/" + name.lstrip("/"), os.O_RDWR, 0)  # glibc adds O_NOFOLLOW
        except FileNotFoundError:
            raise ProtocolError(f"shm segment {name!r} does not exist") from None
        except PermissionError:
            raise ProtocolError(f"shm segment {name!r}: permission denied") from None
        except (OSError, ValueError) as e:
            raise ProtocolError(f"shm segment {name!r}: {e}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ProtocolError(f"shm segment {name!r} is not a regular shared-memory object")
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise ProtocolError(f"shm segment {name!r} is not private to this user "
                                    f"(uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):o})")
            if st.st_size == 0:
                raise ProtocolError(f"shm segment {name!r} is empty")
            mm = mmap.mmap(fd, st.st_size)
        finally:
            os.close(fd)
        return cls(name, st.st_size, mm, st.st_ino, None)

    def close(self) -> None:
        """Unmap (the name stays); a view still exported keeps the mapping until it is freed."""
        try:
            self.buf.release()
            self._mmap.close()
        except (BufferError, ValueError):
            pass

    def unlink(self) -> None:
        """Remove the name, only in the process that created it (never in a forked child)."""
        if self._creator is not None and self._creator == os.getpid():
            self._creator = None
            _OWNED.discard(self)
            try:
                _posixshmem.shm_unlink("/" + self.name)
            except FileNotFoundError:
                pass


@atexit.register
def _unlink_owned() -> None:
    """Normal interpreter exit (also the shim's embedded Python): no segment of ours survives."""
    for seg in list(_OWNED):
        seg.unlink()


def attach_shm(name: str, peer_pid: int | None = None) -> ShmSegment:
    """Open an existing segment (see `ShmSegment.attach`); no resource_tracker is involved."""
    return ShmSegment.attach(name, peer_pid)


def _shm_inode(name: str) -> int | None:
    try:
        return os.stat(SHM_DIR / name.lstrip("/"), follow_symlinks=False).st_ino
    except OSError:
        return None


def peer_credentials(peer_address: str | None) -> tuple[int, int] | None:
    """(uid, pid) from a zmq frame's `Peer-Address` on an ipc connection ("host:uid:gid:pid",
    from SO_PEERCRED), else None (tcp peers carry an IP address only)."""
    if not peer_address:
        return None
    parts = peer_address.rsplit(":", 3)
    if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[3])


def sweep_orphan_segments(shm_dir: Path | None = None) -> list[str]:
    """Unlink this uid's `boo-<pid>-<hex>` segments whose creator is dead (a client killed
    before it could unlink them); returns their names."""
    d = shm_dir or SHM_DIR
    removed = []
    try:
        names = os.listdir(d)
    except OSError:
        return removed
    uid = os.getuid()
    for name in names:
        m = SHM_CLIENT_RE.match(name)
        if not m or pid_alive(int(m.group(1))):
            continue
        try:
            st = os.lstat(d / name)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != uid:
                continue
            if d == SHM_DIR:
                _posixshmem.shm_unlink("/" + name)
            else:
                os.unlink(d / name)
            removed.append(name)
        except OSError:
            pass
    return removed


class ShmAttachments:
    """The daemon's cache of attached client segments, bounded in count and in idle bytes.

    Entries are re-validated against the segment's inode on every use, so a name that was
    unlinked and created again is re-attached rather than served from a stale mapping; `sweep`
    unmaps segments that are gone or whose creator died, so a killed client's memory is not
    held by the daemon.
    """

    def __init__(self, capacity: int = 32, max_idle_bytes: int = 256 << 20):
        self.capacity = capacity
        self.max_idle_bytes = max_idle_bytes
        self._lock = threading.Lock()
        self._segs: OrderedDict[str, list] = OrderedDict()  # name -> [seg, refs, inode]

    def acquire(self, ref: ShmRef, peer_pid: int | None = None) -> tuple[object, memoryview]:
        """(token, writable memoryview of [offset, offset + nbytes)). Call `release(token)`.
        With `peer_pid`, only a segment that process created is served."""
        if peer_pid is not None:
            m = SHM_CLIENT_RE.match(ref.name)
            if not m or int(m.group(1)) != peer_pid:
                raise ProtocolError(f"shm segment {ref.name!r} was not created by the requesting process "
                                    f"(pid {peer_pid}); name your own boo-<pid>-<hex> segments")
        ino = _shm_inode(ref.name)
        with self._lock:
            ent = self._segs.get(ref.name)
            if ent is not None and (ino is None or ent[2] != ino):
                self._drop(ref.name)
                ent = None
            if ent is None:
                seg = ShmSegment.attach(ref.name, peer_pid)
                ent = [seg, 0, seg.ino]
                self._segs[ref.name] = ent
            self._segs.move_to_end(ref.name)
            seg = ent[0]
            if ref.offset + ref.nbytes > seg.size:
                raise ProtocolError(
                    f"shm {ref.name}: [{ref.offset}, {ref.offset + ref.nbytes}) is past the segment's {seg.size} bytes")
            ent[1] += 1
            self._evict()
        return ent, seg.buf[ref.offset: ref.offset + ref.nbytes]

    def release(self, token) -> None:
        with self._lock:
            token[1] -= 1
            self._evict()

    def _evict(self) -> None:
        idle = sum(e[0].size for e in self._segs.values() if e[1] == 0)
        for name in list(self._segs):
            if len(self._segs) <= self.capacity and idle <= self.max_idle_bytes:
                break
            ent = self._segs[name]
            if ent[1] == 0:
                idle -= ent[0].size
                self._drop(name)

    def _drop(self, name: str) -> None:
        ent = self._segs.pop(name)
        if ent[1] == 0:
            ent[0].close()

    def sweep(self) -> int:
        """Unmap idle segments that were unlinked or whose creator is dead; returns how many."""
        n = 0
        with self._lock:
            for name, ent in list(self._segs.items()):
                if ent[1]:
                    continue
                m = SHM_CLIENT_RE.match(name)
                if _shm_inode(name) != ent[2] or (m and not pid_alive(int(m.group(1)))):
                    self._drop(name)
                    n += 1
        return n

    def mapped_bytes(self) -> int:
        with self._lock:
            return sum(e[0].size for e in self._segs.values())

    def close(self) -> None:
        with self._lock:
            for name in list(self._segs):
                self._drop(name)

    def __len__(self) -> int:
        return len(self._segs)


# --------------------------------------------------------------------------------- endpoints
def runtime_dir() -> Path:
    """`$XDG_RUNTIME_DIR/boo`, else `/tmp/boo-<user>`: created 0700, refused if another user owns it."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        d = Path(xdg) / "boo"
    else:
        import getpass

        try:
            user = getpass.getuser()
        except Exception:
            user = str(os.getuid())
        d = Path("/tmp") / f"boo-{user}"
    return ensure_private_dir(d)


def _mkdir_private(d: Path) -> None:
    """mkdir -p with a clear error (not FileExistsError) when something else is in the way."""
    for p in reversed([d, *d.parents]):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise DaemonUnavailable(f"cannot create {p}: {e.strerror}") from None
        if os.path.islink(p) and not os.path.exists(p):
            raise DaemonUnavailable(f"{p} is a dangling symbolic link where a directory should be; remove it")
        if not os.path.isdir(p):
            raise DaemonUnavailable(f"{p} exists and is not a directory; remove it or choose another endpoint")


def ensure_private_dir(d: Path) -> Path:
    """`d` as a real directory owned by this user, mode 0700 (tightened if needed). A symlink,
    a file or another user's directory there is refused with a clear error."""
    _mkdir_private(d.parent)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise DaemonUnavailable(f"cannot create {d}: {e.strerror}") from None
    st = os.lstat(d)
    if stat.S_ISLNK(st.st_mode):
        what = "dangling symbolic link" if not os.path.exists(d) else "symbolic link"
        raise DaemonUnavailable(f"{d} is a {what}, not boo's private directory; remove it")
    if not stat.S_ISDIR(st.st_mode):
        raise DaemonUnavailable(f"{d} exists and is not a directory; remove it")
    if st.st_uid != os.getuid():
        raise DaemonUnavailable(f"{d} belongs to uid {st.st_uid}, not to you; refusing to use it")
    if st.st_mode & 0o077:
        os.chmod(d, 0o700)
    return d


# Names the daemon and `boo-daemon start` create beside a socket (see endpoint_state_path).
_STATE_SUFFIXES = re.compile(r"^(|\.lock|\.pid|\.log(\.[0-9]+)?|\.start-err|\.[0-9]+\.tmp)$")


def check_state_dir(directory: Path, prefix: str | None) -> None:
    """Refuse a directory holding entries boo did not make: a symlink, or anything owned by
    another user, named like our files (`prefix*`; every entry when `prefix` is None, i.e. boo's
    own runtime directory). A directory that was once world-writable may hold planted links that
    would otherwise redirect our log or pid writes."""
    uid = os.getuid()
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    except OSError as e:
        raise DaemonUnavailable(f"cannot read {directory}: {e.strerror}") from None
    bad = []
    for name in names:
        if prefix is not None and not name.startswith(prefix):
            continue
        try:
            st = os.lstat(directory / name)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            bad.append(f"{name} (symbolic link)")
        elif st.st_uid != uid:
            bad.append(f"{name} (owned by uid {st.st_uid})")
        elif prefix is not None and not _STATE_SUFFIXES.match(name[len(prefix):]):
            continue  # a user-named directory may hold the user's own files
    if bad:
        raise DaemonUnavailable(f"{directory} holds entries boo did not make: {', '.join(sorted(bad)[:5])}; "
                                "remove them (the directory may have been writable by others)")


def open_private(path: Path, flags: int, *, exclusive: bool = False) -> int:
    """os.open for the daemon's own files: never through a symlink (O_NOFOLLOW), mode 0600, a
    regular file owned by us; `exclusive` replaces whatever is there with a new file (O_EXCL)."""
    if exclusive:
        try:
            os.unlink(path)  # removes a planted link itself, never its target
        except FileNotFoundError:
            pass
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise DaemonUnavailable(f"{path} is a symbolic link; refusing to follow it (remove it)") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise DaemonUnavailable(f"{path} is not a regular file of yours; refusing to use it")
    return fd


def default_endpoint() -> str:
    """`BOO_ENDPOINT`, else `ipc://<runtime dir>/daemon.sock`."""
    env = config.endpoint()
    if env:
        return env
    return "ipc://" + str(runtime_dir() / "daemon.sock")


def ipc_path(endpoint: str) -> Path | None:
    if endpoint.startswith("ipc://"):
        return Path(endpoint[len("ipc://"):])
    return None


def endpoint_state_path(endpoint: str, suffix: str) -> Path:
    """Where the lock/pid/info files of the daemon at `endpoint` live: beside an ipc socket,
    in the runtime dir for tcp."""
    p = ipc_path(endpoint)
    if p is not None:
        # A directory the user named is used as is; a missing one is created private.
        _mkdir_private(p.parent)
        return p.with_name(p.name + suffix)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", endpoint)
    return runtime_dir() / (safe + suffix)


def is_loopback_endpoint(endpoint: str) -> bool:
    """ipc/inproc, or tcp bound to a loopback address."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    if host in ("localhost", "::1", "lo"):
        return True
    return host.startswith("127.")


# --------------------------------------------------------------------------------- CURVE keys
def config_dir() -> Path:
    """`$BOO_CONFIG_DIR`, else `$XDG_CONFIG_HOME/boo`, else `~/.config/boo`."""
    env = config.config_dir()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "boo"


def curve_dir() -> Path:
    return config_dir() / "curve"


def ensure_curve_keys() -> Path:
    """The owner's CURVE certificates for TCP endpoints (created once, in a 0700 directory):
    `server.key[_secret]` (the daemon's) and `client.key[_secret]` (what this user's clients
    present; the daemon accepts it). Returns the directory."""
    import zmq.auth

    d = ensure_private_dir(curve_dir())
    old = os.umask(0o077)
    try:
        for name in ("server", "client"):
            if (d / f"{name}.key_secret").exists() and (d / f"{name}.key").exists():
                continue
            # Built in a temporary directory and renamed into place: two daemons starting at
            # once both end up with one consistent pair.
            import tempfile

            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=d))
            try:
                zmq.auth.create_certificates(str(tmp), name)
                for f in (f"{name}.key", f"{name}.key_secret"):
                    os.chmod(tmp / f, 0o600)
                try:
                    os.link(tmp / f"{name}.key_secret", d / f"{name}.key_secret")
                    os.replace(tmp / f"{name}.key", d / f"{name}.key")
                except FileExistsError:
                    pass  # another process won the race; its pair stands
            finally:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        os.umask(old)
    return d


def find_curve_keys() -> tuple[bytes, bytes, bytes] | None:
    """(server public, client public, client secret) from the owner's key directory, or None."""
    from zmq.auth import load_certificate

    d = curve_dir()
    try:
        server_public, _ = load_certificate(str(d / "server.key"))
        client_public, client_secret = load_certificate(str(d / "client.key_secret"))
    except (OSError, ValueError):
        return None
    if not client_secret:
        return None
    return server_public, client_public, client_secret
