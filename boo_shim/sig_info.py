"""What a signature means on the wire, derived once: `signature_info` for the client and the daemon.

Both sides need the same few facts for every call (the parsed signature, its dtype, tensor shapes
and result size), and parsing a command or a field dict costs far more than a call's own Python;
so they are worked out once per signature here and cached, keyed by the wire form.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import numpy as np

from . import protocol as P

MAX_ENTRIES = 4096  # a process naming more signatures than this re-parses them: correct, just slower

_CACHE: dict = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)  # eq=False: `wire` may be a dict, which has no hash
class SignatureInfo:
    signature: object  # ConvSignature
    wire_dtype: str  # 'f32' | 'f16' | 'bf16'
    np_dtype: np.dtype
    arg_shapes: tuple  # of tuple[int, ...], in argument order
    result_shape: tuple
    result_nbytes: int
    wire: object  # what goes in a request's `signature` field: a command string or a field dict


def wire_key(sig):
    """A hashable key naming a signature however it was given (a dict by its sorted JSON)."""
    return sig if not isinstance(sig, dict) else json.dumps(sig, sort_keys=True)


def signature_info(sig, *, from_peer: bool = False) -> SignatureInfo:
    """The facts of `sig`: a command string, a field dict or (not from a peer) a ConvSignature.

    `from_peer`: `sig` came off the wire, so it is read by `protocol.signature_from_wire`, with
    its limits and its ProtocolError/SignatureError. Otherwise it is the caller's own, read by
    ConvSignature as given (its errors unchanged). The two readings are cached apart, so an
    entry one of them accepted never lets the other skip its checks.
    """
    key = (from_peer, wire_key(sig))
    info = _CACHE.get(key)
    if info is None:
        obj = P.signature_from_wire(sig) if from_peer else _signature(sig)
        wire_dtype = P.dtype_to_wire(obj.dtype)
        np_dtype = P.dtype_from_wire(wire_dtype)
        result = tuple(obj.result_shape)
        info = SignatureInfo(obj, wire_dtype, np_dtype, tuple(tuple(s) for s in obj.arg_shapes), result,
                             int(np.prod(result)) * np_dtype.itemsize, wire_form(sig))
        with _LOCK:
            if len(_CACHE) >= MAX_ENTRIES:
                _CACHE.clear()
            _CACHE[key] = info
    return info


def _signature(sig):
    from .conv import ConvSignature

    if isinstance(sig, ConvSignature):
        return sig
    if isinstance(sig, str):
        return ConvSignature.from_command(sig)
    if isinstance(sig, dict):
        return ConvSignature.from_dict(sig)
    raise TypeError(f"expected a ConvSignature, command string or field dict, got {type(sig).__name__}")


def wire_form(sig):
    """Commands and dicts go as given; ConvSignatures as their exact field dict."""
    if isinstance(sig, (str, dict)):
        return sig
    return sig.as_dict()
