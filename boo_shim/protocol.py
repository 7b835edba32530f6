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

# Segment names the daemon will open: no slashes, no dots-only names, bounded length.
SHM_NAME_RE = re.compile(r"^/?boo[A-Za-z0-9_-]{1,120}$")

# Wire dtype names (the dtype names boo uses in function names) -> numpy dtypes.
DTYPES = ("f32", "f16", "bf16")


def _np_dtypes() -> dict[str, np.dtype]:
    import ml_dtypes

    return {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16), "bf16": np.dtype(ml_dtypes.bfloat16)}


_NP = _np_dtypes()
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


def decode_header(blob: bytes | memoryview) -> dict:
    """Parse and sanity-check a header frame. Raises ProtocolError."""
    if len(blob) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header is {len(blob)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        header = json.loads(bytes(blob).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"header is not UTF-8 JSON: {str(e)[:100]}") from None
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
        "op": request.get("op") if isinstance(request.get("op"), str) else None,
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
            from .conv import dtype_name

            return dtype_name(dtype)
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
    if v != PROTOCOL_VERSION:
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
    if op in ("compile", "run", "find"):
        if "signature" not in h:
            raise ProtocolError(f"{op}: missing field 'signature'")
        if not isinstance(h["signature"], (str, dict)):
            raise ProtocolError(f"{op}.signature: expected a command string or a field object")
    if op == "hello" and "client" in h and not isinstance(h["client"], dict):
        raise ProtocolError("hello.client: expected an object")
    if op == "run":
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
    if op == "find":
        h["iters"] = _int_field(h, "iters", "find", 1, MAX_FIND_ITERS, default=10)
        h["warmup"] = _int_field(h, "warmup", "find", 0, 1000, default=1)
    if op == "warm":
        lines = h.get("lines")
        if not isinstance(lines, list) or len(lines) > MAX_WARM_LINES:
            raise ProtocolError(f"warm.lines: expected a list of at most {MAX_WARM_LINES} commands")
        for i, line in enumerate(lines):
            if not isinstance(line, (str, dict)) or (isinstance(line, str) and len(line) > MAX_SIGNATURE_CHARS):
                raise ProtocolError(f"warm.lines[{i}]: expected a command string (<= {MAX_SIGNATURE_CHARS} chars) or a field object")
    return h


# --------------------------------------------------------------------------------- shared memory
def attach_shm(name: str):
    """Open an existing segment without letting this process's resource_tracker adopt it.

    Python 3.11's `SharedMemory(name)` registers even segments it merely attaches to, and the
    tracker would unlink them when this process exits: the creator's segment would vanish.
    """
    from multiprocessing import resource_tracker, shared_memory

    if not SHM_NAME_RE.match(name):
        raise ProtocolError(f"shm name {name[:80]!r} is not a valid boo segment name")
    try:
        seg = shared_memory.SharedMemory(name=name, create=False)
    except FileNotFoundError:
        raise ProtocolError(f"shm segment {name!r} does not exist") from None
    except PermissionError:
        raise ProtocolError(f"shm segment {name!r}: permission denied") from None
    except (OSError, ValueError) as e:
        raise ProtocolError(f"shm segment {name!r}: {e}") from None
    try:
        resource_tracker.unregister(seg._name, "shared_memory")  # noqa: SLF001 (see docstring)
    except Exception:  # pragma: no cover - tracker not running
        pass
    return seg


def _shm_inode(name: str) -> int | None:
    try:
        return os.stat("/dev/shm/" + name.lstrip("/")).st_ino
    except OSError:
        return None


class ShmAttachments:
    """The daemon's cache of attached client segments (bounded, reference counted).

    Entries are re-validated against the segment's inode on every use, so a name that was
    unlinked and created again is re-attached rather than served from a stale mapping.
    """

    def __init__(self, capacity: int = 32):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._segs: OrderedDict[str, list] = OrderedDict()  # name -> [seg, refs, inode]

    def acquire(self, ref: ShmRef) -> tuple[object, memoryview]:
        """(token, writable memoryview of [offset, offset + nbytes)). Call `release(token)`."""
        ino = _shm_inode(ref.name)
        with self._lock:
            ent = self._segs.get(ref.name)
            if ent is not None and (ino is None or ent[2] != ino):
                self._drop(ref.name)
                ent = None
            if ent is None:
                ent = [attach_shm(ref.name), 0, ino]
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
        for name in list(self._segs):
            if len(self._segs) <= self.capacity:
                break
            if self._segs[name][1] == 0:
                self._drop(name)

    def _drop(self, name: str) -> None:
        ent = self._segs.pop(name)
        if ent[1] == 0:
            try:
                ent[0].close()
            except BufferError:  # a view is still alive somewhere; the GC will unmap it
                pass

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


def ensure_private_dir(d: Path) -> Path:
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode):
        raise DaemonUnavailable(f"{d} is not a directory")
    if st.st_uid != os.getuid():
        raise DaemonUnavailable(f"{d} belongs to uid {st.st_uid}, not to you; refusing to use it")
    if st.st_mode & 0o077:
        os.chmod(d, 0o700)
    return d


def default_endpoint() -> str:
    """`BOO_ENDPOINT`, else `ipc://<runtime dir>/daemon.sock`."""
    env = os.environ.get("BOO_ENDPOINT")
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
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
