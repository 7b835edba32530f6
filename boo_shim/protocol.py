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
names a POSIX shared-memory segment the client created (`boo_shim.shm`). Where the daemon
listens and keeps its files: `boo_shim.endpoints`.

A convolution called again and again goes as a *call* instead (`encode_call`): the client
registers a plan once (op "plan": signature + strategy -> plan id) and each call is then one
frame: a 24-byte binary header naming the plan, followed by the inputs' raw bytes; the reply is
one frame too, a 32-byte binary header and the result. It spares both sides the JSON, the schema
check and the signature lookup of every call. Failed calls get an ordinary JSON error reply.

See docs/daemon.md for every op's fields.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import dtypes
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
    "Overloaded",
    "SHM_CLIENT_RE",
    "UnknownPlan",
    "CALL_OP",
    "is_call",
    "encode_call",
    "decode_call",
    "call_reply_buffer",
    "seal_call_reply",
    "decode_call_reply",
    "call_kind",
    "encode_shm_call",
    "decode_shm_call",
    "shm_call_reply",
    "CHANNEL_PREFIX_BYTES",
    "CHANNEL_MAX_FRAME",
    "channel_path",
    "channel_prefix",
    "channel_length",
]

PROTOCOL_VERSION = 1
OPS = ("hello", "compile", "plan", "run", "find", "warm", "stats", "shutdown")
CALL_OP = "call"  # the binary hot op; never a JSON header's op

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


class UnknownPlan(BooError):
    """A call named a plan this daemon does not hold (it restarted, or evicted the plan): register
    the signature again. Clients do that by themselves."""

    status = MIOpenStatus.NotInitialized


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
        "UnknownPlan": UnknownPlan,
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
    return [blob, *frame_buffers(frames)]


def frame_buffers(frames: Sequence) -> list:
    """Tensor frames as zmq sends them: numpy arrays become byte views of their memory."""
    out = []
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
        "op": request.get("op") if isinstance(request.get("op"), str) and request.get("op") in _REPLY_OPS else None,
        "id": _safe_id(request),
        "ok": False,
        "code": int(status if status is not None else MIOpenStatus.UnknownError),
        "reason": reason[:4000],
        "error": name,
    }


_REPLY_OPS = (*OPS, CALL_OP)


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
    "plan": {"signature", "strategy"},
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


def _validate_plan(h: dict, nframes: int) -> None:
    _check_signature("plan", h)


_OP_VALIDATORS = {"hello": _validate_hello, "compile": _validate_compile, "plan": _validate_plan,
                  "run": _validate_run,
                  "find": _validate_find, "warm": _validate_warm}


# --------------------------------------------------------------------------------- hot calls
# One frame each way, binary, little-endian: a fixed header, then the tensors' bytes back to back
# (the plan fixes their sizes). One frame, because every frame costs a round of Python in pyzmq
# on both sides, and on a small VM each such step is tens of µs. The magic can never begin a
# JSON header (that is '{'), so one look at the first bytes tells the two kinds apart.
CALL_MAGIC = b"BOOc"
_CALL_REQUEST = struct.Struct("<4sBBHQQ")  # magic, version, kind, flags (0), request id, plan id
_CALL_REPLY = struct.Struct("<4sBBHQdd")  # magic, version, kind, flags (0), request id, kernel ms, daemon us
CALL_REQUEST_BYTES, CALL_REPLY_BYTES = _CALL_REQUEST.size, _CALL_REPLY.size
_KIND_CALL, _KIND_CALL_REPLY = 1, 2
# A call whose tensors lie in the caller's shared-memory segment (call channels only, where the
# daemon knows the caller's pid): after the header, the segment's name length (u16) and name,
# then one u64 offset per input and one for the output; the plan gives every size. Its reply is
# the reply header alone: the result is in the segment.
_KIND_SHM_CALL, _KIND_SHM_CALL_REPLY = 3, 4
_SHM_NAME_LENGTH = struct.Struct("<H")
MAX_PLAN_ID = (1 << 63) - 1


def is_call(blob) -> bool:
    """Whether a first frame is a binary call (or call reply), else it is JSON."""
    return len(blob) >= 4 and blob[:4] == CALL_MAGIC


def encode_call(request_id: int, plan_id: int, inputs: Sequence) -> bytes:
    """The call message's one frame: header, then each input's bytes (C-contiguous buffers)."""
    return b"".join((_CALL_REQUEST.pack(CALL_MAGIC, PROTOCOL_VERSION, _KIND_CALL, 0, request_id, plan_id),
                     *inputs))


def _unpack_header(layout: struct.Struct, blob, kind: int, what: str) -> tuple:
    if len(blob) < layout.size:
        raise ProtocolError(f"{what}: {len(blob)} bytes is shorter than its {layout.size}-byte header")
    fields = layout.unpack_from(blob)
    magic, version, got_kind, flags = fields[:4]
    if magic != CALL_MAGIC:
        raise ProtocolError(f"{what} header: bad magic {magic!r}")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"{what} header: protocol version {version} is not supported; this side "
                            f"speaks {PROTOCOL_VERSION}")
    if got_kind != kind or flags != 0:
        raise ProtocolError(f"{what} header: kind {got_kind} / flags {flags}; expected kind {kind}, flags 0")
    return fields[4:]


def call_kind(blob) -> int:
    """The kind byte of a call frame (1 inline tensors, 3 tensors in shared memory); 0 if none."""
    return blob[5] if len(blob) > 5 else 0


def encode_shm_call(request_id: int, plan_id: int, segment: str, offsets: Sequence[int]) -> bytes:
    """A call naming where in `segment` each input lies and where the result goes."""
    name = segment.encode()
    return b"".join((_CALL_REQUEST.pack(CALL_MAGIC, PROTOCOL_VERSION, _KIND_SHM_CALL, 0, request_id, plan_id),
                     _SHM_NAME_LENGTH.pack(len(name)), name, struct.pack(f"<{len(offsets)}Q", *offsets)))


def decode_shm_call(blob) -> tuple[int, int, str, tuple[int, ...]]:
    """(request id, plan id, segment name, offsets: the inputs', then the output's) of a
    shared-memory call; the plan says how many there must be. Raises ProtocolError only."""
    request_id, plan_id = _unpack_header(_CALL_REQUEST, blob, _KIND_SHM_CALL, "shm call")
    if request_id > MAX_REQUEST_ID or not 1 <= plan_id <= MAX_PLAN_ID:
        raise ProtocolError("shm call: request or plan id out of range")
    at = CALL_REQUEST_BYTES
    if len(blob) < at + _SHM_NAME_LENGTH.size:
        raise ProtocolError("shm call: no segment name")
    (n,) = _SHM_NAME_LENGTH.unpack_from(blob, at)
    at += _SHM_NAME_LENGTH.size
    rest = len(blob) - at - n
    if rest < 16 or rest % 8 or rest // 8 > MAX_FRAMES + 1:
        raise ProtocolError(f"shm call: {len(blob)} bytes do not hold a {n}-byte name and 2 to "
                            f"{MAX_FRAMES + 1} offsets")
    try:
        name = bytes(blob[at:at + n]).decode()
    except UnicodeDecodeError:
        raise ProtocolError("shm call: the segment name is not UTF-8") from None
    if not SHM_NAME_RE.match(name):
        raise ProtocolError(f"shm call: {name[:80]!r} is not a valid boo segment name")
    offsets = struct.unpack_from(f"<{rest // 8}Q", blob, at + n)
    if any(o > MAX_TENSOR_BYTES for o in offsets):
        raise ProtocolError("shm call: an offset is out of range")
    return request_id, plan_id, name, offsets


def shm_call_reply(request_id: int, kernel_ms: float, daemon_us: float) -> bytes:
    return _CALL_REPLY.pack(CALL_MAGIC, PROTOCOL_VERSION, _KIND_SHM_CALL_REPLY, 0, request_id, kernel_ms, daemon_us)


def decode_call(blob) -> tuple[int, int, memoryview]:
    """(request id, plan id, the inputs' bytes) of a call frame; the plan says how to split them.
    Raises ProtocolError, never anything else."""
    request_id, plan_id = _unpack_header(_CALL_REQUEST, blob, _KIND_CALL, "call")
    if request_id > MAX_REQUEST_ID:
        raise ProtocolError(f"call: request id {request_id} is over {MAX_REQUEST_ID}")
    if not 1 <= plan_id <= MAX_PLAN_ID:
        raise ProtocolError(f"call: plan id {plan_id} is out of range")
    return request_id, plan_id, memoryview(blob)[CALL_REQUEST_BYTES:]


def call_reply_buffer(result_nbytes: int) -> tuple[bytearray, memoryview]:
    """A reply frame to fill: (the frame, the view of it the result goes into). The header is
    written last, by `seal_call_reply`, once the timings are known."""
    frame = bytearray(CALL_REPLY_BYTES + result_nbytes)
    return frame, memoryview(frame)[CALL_REPLY_BYTES:]


def seal_call_reply(frame: bytearray, request_id: int, kernel_ms: float, daemon_us: float) -> None:
    _CALL_REPLY.pack_into(frame, 0, CALL_MAGIC, PROTOCOL_VERSION, _KIND_CALL_REPLY, 0, request_id, kernel_ms,
                          daemon_us)


def decode_call_reply(blob) -> tuple[dict, memoryview]:
    """A call reply as (the header a JSON reply would have had, the result's bytes: none after
    a shared-memory call, whose result is in the segment)."""
    kind = call_kind(blob) if call_kind(blob) == _KIND_SHM_CALL_REPLY else _KIND_CALL_REPLY
    request_id, kernel_ms, daemon_us = _unpack_header(_CALL_REPLY, blob, kind, "call reply")
    if kind == _KIND_SHM_CALL_REPLY and len(blob) != CALL_REPLY_BYTES:
        raise ProtocolError("shm call reply: bytes after the header")
    if not (math.isfinite(kernel_ms) and math.isfinite(daemon_us)):
        raise ProtocolError("call reply: timings are not finite")
    header = {"v": PROTOCOL_VERSION, "op": CALL_OP, "id": request_id, "ok": True, "kernel_ms": kernel_ms,
              "daemon_us": daemon_us}
    return header, memoryview(blob)[CALL_REPLY_BYTES:]


# --------------------------------------------------------------------------------- call channels
# The same call frames over a plain Unix stream socket beside an ipc endpoint (its path plus
# CHANNEL_SUFFIX), for clients of the daemon's own uid on this host; the daemon names it in
# `hello` ("calls"). Each frame is preceded by its length (u32, little-endian). ZeroMQ carries
# every message through an I/O thread on each side, so its round trip wakes four threads; a
# stream socket wakes only the two that talk (1-byte echo between two processes on the 2-core
# VM: ~6 us p50 against ~33 us for REQ/REP). Only calls travel there: a reply is a call reply
# frame, or a JSON error header (the first byte tells which, as on the ZeroMQ socket).
CHANNEL_SUFFIX = ".calls"
# Bigger calls go to the ZeroMQ socket (and belong in shared memory): past a few socket
# buffers, ZeroMQ's I/O threads move a frame faster than a Python loop turn per piece.
CHANNEL_MAX_FRAME = 4 << 20
_CHANNEL_LENGTH = struct.Struct("<I")
CHANNEL_PREFIX_BYTES = _CHANNEL_LENGTH.size
_SUN_PATH_MAX = 107  # sockaddr_un's path, less its terminating NUL


def channel_path(endpoint: str) -> str | None:
    """The call channel's socket path for an ipc endpoint; None for others, or when the path
    does not fit in a socket address."""
    if not endpoint.startswith("ipc://"):
        return None
    path = endpoint[len("ipc://"):] + CHANNEL_SUFFIX
    return path if len(path.encode()) <= _SUN_PATH_MAX else None


def channel_prefix(nbytes: int) -> bytes:
    return _CHANNEL_LENGTH.pack(nbytes)


def channel_length(prefix) -> int:
    return _CHANNEL_LENGTH.unpack_from(prefix)[0]
