"""The project's error types.

Every error a user can cause is a `BooError`. Each carries the MIOpen status it maps to, so the
daemon can put it on the wire and the shim can return it to a C caller unchanged.
"""

from __future__ import annotations

from enum import IntEnum


class MIOpenStatus(IntEnum):
    """`miopenStatus_t` values (MIOpen's include/miopen/miopen.h)."""

    Success = 0
    NotInitialized = 1
    InvalidValue = 2
    BadParm = 3
    AllocFailed = 4
    InternalError = 5
    NotImplemented = 6
    UnknownError = 7
    UnsupportedOp = 8


class BooError(Exception):
    """Base of every error boo raises on purpose."""

    status: MIOpenStatus = MIOpenStatus.UnknownError


class SignatureError(BooError, ValueError):
    """A convolution signature or command line that does not describe a valid convolution.

    `field` names the offending field (`groups`, `input_shape`, `--in_layout`, ...).
    """

    status = MIOpenStatus.BadParm

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class UnsupportedError(BooError):
    """A valid convolution that boo refuses up front rather than risk a wrong answer."""

    status = MIOpenStatus.NotImplemented


class CompileError(BooError):
    """IREE failed to compile a signature."""

    status = MIOpenStatus.InternalError
