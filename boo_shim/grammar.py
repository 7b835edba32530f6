"""MIOpenDriver's convolution command-line grammar.

`parse_command` reads a line as found in the wild (`convbfp16 -n 16 ...`, `./bin/MIOpenDriver
conv --batchsize ...`, or a `MIOpen(HIP): Command [LogCmdConvolution] ...` log line) into a
`DriverCommand`: one `ConvSignature` per direction named by `-F`, plus the run options (`-t`,
`--iter`, `-V`, ...) that do not change the math. `signature_to_command` prints the canonical
line back. Flag names, short forms and defaults follow MIOpenDriver's conv driver; the text
itself is read and written by `command_line`, which `conv` uses too.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from .command_line import (  # noqa: F401 - COMMAND_DTYPES, DTYPE_COMMANDS, Flag: importable from here as before
    COMMAND_DTYPES,
    DTYPE_COMMANDS,
    FLAGS,
    FLAGS_BY_LONG,
    Flag,
    format_command,
    parse_fields,
)
from .conv import ConvSignature
from .errors import SignatureError

__all__ = [
    "DriverCommand",
    "FLAGS",
    "parse_command",
    "parse_commands_file",
    "signature_to_command",
    "command_to_signatures",
]


@dataclass(frozen=True)
class DriverCommand:
    """A parsed MIOpenDriver line."""

    command: str  # conv | convfp16 | convbfp16
    signatures: tuple[ConvSignature, ...]
    run_options: dict[str, str] = field(default_factory=dict)

    def option(self, name: str) -> str:
        return self.run_options.get(name, FLAGS_BY_LONG[name].default)

    def int_option(self, name: str) -> int:
        value = self.option(name)
        try:
            return int(value)
        except ValueError:
            raise SignatureError(f"--{name}", f"expected an integer, got {value!r}") from None


def parse_command(line: str | list[str]) -> DriverCommand:
    """Parse one MIOpenDriver conv line. Raises `SignatureError` / `UnsupportedError`."""
    read = parse_fields(line)
    sigs = tuple(ConvSignature(**f) for f in read.fields)
    return DriverCommand(command=read.command, signatures=sigs, run_options=read.run_options)


def command_to_signatures(line: str) -> list[ConvSignature]:
    return list(parse_command(line).signatures)


def signature_to_command(sig: ConvSignature, **run_options) -> str:
    """Canonical short-flag line for one signature; `run_options` (e.g. time=1, iter=100) are appended."""
    return format_command(sig, **run_options)


_COMMENT = re.compile(r"(^|\s)#.*$")


def parse_commands_file(path: str, extra_args: list[str] | None = None) -> list[tuple[int, str]]:
    """Lines of a commands file as (line number, command text): `#` comments and blanks dropped,
    `extra_args` appended to every line. Parsing is left to the caller, so one bad line can be
    reported without losing the rest."""
    out = []
    suffix = (" " + " ".join(shlex.quote(a) for a in extra_args)) if extra_args else ""
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            # A comment starts at a '#' that begins a word: `-#` is the depth-stride flag.
            text = _COMMENT.sub("", raw).strip()
            if text:
                out.append((no, text + suffix))
    return out
