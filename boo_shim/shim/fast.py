"""The shim's C hot path (`native/shim/fast_call.c`), from the Python side.

C serves a convolution call without entering Python when it has a *fast entry* for it. Python
decides everything about those entries:

- every descriptor content gets an id from a counter (never reused), and after every Create,
  Set and Destroy Python tells C which id each descriptor pointer now holds (`note_descriptor`;
  0 = none). A changed or re-created descriptor therefore never matches an old entry, and
  programs that build fresh descriptors for every call (PyTorch) still match, by content;
- after serving a call itself through the daemon, Python offers it (`offer`): only a plain call
  qualifies (alpha 1, beta 0, all three tensors packed in their layout, a plan the client holds,
  a daemon with a call channel) and only when nothing needs Python to see each call (tracing,
  BOO_COMPARE, BOO_LOG_CMD, BOO_DISABLE, local execution, BOO_SHIM_FAST=0).

C talks to the daemon on its call channel (protocol.py, "call channels"), one connection per
program thread. A fast call that fails (a dead or restarted daemon closes the channel; an error
reply) drops its entry and runs the Python path, which re-offers it with the plan it then holds
(a restarted daemon's).
"""

from __future__ import annotations

import itertools
import os

from .. import config
from .descriptors import ConvDesc, TensorDesc

DIRECTIONS = {"fwd": 0, "bwd": 1, "wrw": 2}  # the direction codes of fast_call.c
MAX_CONTENT_IDS = 1 << 16  # past this many contents the table starts afresh (ids keep counting)


class FastPath:
    def __init__(self, ffi, lib):
        self.ffi, self.lib = ffi, lib
        self.enabled = False
        self.why_off = "not started"
        self._content_ids: dict[tuple, int] = {}
        self._ids = itertools.count(1)  # next() is atomic under the GIL: no id is handed out twice
        # (channel path, our pid) C was configured with: a forked child configures anew
        self._configured: tuple[str, int] | None = None

    def start(self, state) -> None:
        """Turn the path on where nothing needs Python to see every call."""
        reasons = [why for off, why in (
            (not config.shim_fast(), "BOO_SHIM_FAST=0"), (state.execute != "daemon", "BOO_EXECUTE=local"),
            (state.compare, "BOO_COMPARE"), (bool(state.trace_path), "BOO_SHIM_TRACE"),
            (state.log_cmd, "BOO_LOG_CMD"), (state.disabled, "BOO_DISABLE")) if off]
        self.enabled = not reasons
        self.why_off = ", ".join(reasons) or None

    # ------------------------------------------------------------------ what C may match on
    def content_id(self, obj) -> int:
        """The id of a descriptor's current content; 0 when it has none boo can use."""
        if obj.unsupported or (isinstance(obj, TensorDesc) and not obj.is_set):
            return 0
        key = (type(obj).__name__, obj.key())
        cid = self._content_ids.get(key)
        if cid is None:
            # Two threads racing here may give one content two ids (one of them then just stops
            # matching); one id never names two contents.
            if len(self._content_ids) >= MAX_CONTENT_IDS:
                self._content_ids.clear()  # old ids just stop matching
            cid = self._content_ids.setdefault(key, next(self._ids))
        return cid

    def note_descriptor(self, ptr: int, obj) -> None:
        if self.enabled:
            self.lib.boo_fast_note(ptr, self.content_id(obj) if isinstance(obj, (TensorDesc, ConvDesc)) else 0)

    def forget_descriptor(self, ptr: int) -> None:
        if self.enabled:
            self.lib.boo_fast_note(ptr, 0)

    def note_handle(self, ptr: int, alive: bool) -> None:
        if self.enabled:
            self.lib.boo_fast_note_handle(ptr, 1 if alive else 0)

    def handle_served(self, ptr: int) -> None:
        """Python served a conv call on this handle: its last call was not a fast one."""
        if self.enabled:
            self.lib.boo_fast_note_handle(ptr, 1)

    def last_ms(self, ptr: int) -> float | None:
        """The time of the last conv call on the handle when it took the fast path, else None."""
        if not self.enabled:
            return None
        out = self.ffi.new("double *")
        return float(out[0]) if self.lib.boo_fast_last_ms(ptr, out) else None

    # ------------------------------------------------------------------ entries
    def offer(self, problem, sig, client, in_nbytes: tuple[int, int], out_nbytes: int) -> None:
        """Offer a call Python just served through the daemon (alpha 1, beta 0, packed tensors:
        the caller checked). Does nothing when the client holds no plan for it, or the daemon
        has no call channel."""
        if not self.enabled or sum(in_nbytes) + out_nbytes >= client.shm_threshold:
            return  # a call this big goes through shared memory, not as one frame each way
        plan = client.known_plan(sig)
        if plan is None or plan.channel is None:
            return
        ids = [self.content_id(d) for d in (problem.x, problem.w, problem.conv, problem.y)]
        if not all(ids):
            return
        if self._configured != (plan.channel, os.getpid()):
            timeout_ms = int(client.compile_timeout_s * 1000)
            if not self.lib.boo_fast_configure(1, plan.channel.encode(), timeout_ms, config.spin_us()):
                self.enabled, self.why_off = False, "the C side refused the configuration"
                return
            self._configured = (plan.channel, os.getpid())
        self.lib.boo_fast_add(DIRECTIONS[problem.direction], *ids, plan.plan_id, in_nbytes[0], in_nbytes[1],
                              out_nbytes)
