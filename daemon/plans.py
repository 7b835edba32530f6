"""Plans: the daemon's table of signatures registered for hot calls (`protocol.encode_call`).

A hot call names its plan by a number instead of a signature, so that nothing is parsed or looked
up by content per call; everything it needs is prepared once, here. The table is LRU-bounded
like the loaded kernels its plans hold, and plan ids are never reused (see `PlanTable`).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plan:
    """What a hot call needs, prepared once when the plan is registered: the loaded kernel and the
    exact byte sizes every call's frames must have."""

    plan_id: int
    sig: object  # ConvSignature
    strategy: str
    kernel: object  # runtime.Kernel
    dtype: np.dtype
    in_shapes: tuple
    in_nbytes: tuple
    out_shape: tuple
    out_nbytes: int
    inline: bool  # runs on the main thread (small: local-sync, no hand-off)


class PlanTable:
    """Plans by id, and the id of each (signature, strategy).

    Ids carry a random incarnation in their top bits and a counter below, so no id is ever
    reused, not even by a restarted daemon: a client holding an old id gets UnknownPlan and
    registers again rather than running some other plan.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._lock = threading.Lock()  # registrations run on the call pool, lookups on the main thread
        self._plans: OrderedDict[int, Plan] = OrderedDict()
        self._ids: dict[tuple, int] = {}  # (signature, strategy) -> plan id
        self._base = (int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF) << 32
        self._counter = 0

    def register(self, sig, strategy: str, kernel, **fields) -> Plan:
        """The plan of (`sig`, `strategy`): the registered one while it holds this same `kernel`,
        else a new one (a new id) made of `fields`, the rest of `Plan`'s."""
        with self._lock:
            plan_id = self._ids.get((sig, strategy))
            plan = self._plans.get(plan_id) if plan_id is not None else None
            if plan is None or plan.kernel is not kernel:
                if plan is not None:
                    del self._plans[plan_id]
                self._counter += 1
                plan = Plan(self._base | self._counter, sig, strategy, kernel, **fields)
                self._ids[(sig, strategy)] = plan.plan_id
            self._plans[plan.plan_id] = plan
            self._plans.move_to_end(plan.plan_id)
            while len(self._plans) > self.capacity:
                _, old = self._plans.popitem(last=False)
                if self._ids.get((old.sig, old.strategy)) == old.plan_id:
                    del self._ids[(old.sig, old.strategy)]
        return plan

    def get(self, plan_id) -> Plan | None:
        """The plan with this id (now the most recently used), or None."""
        with self._lock:
            plan = self._plans.get(plan_id)
            if plan is not None:
                self._plans.move_to_end(plan.plan_id)
        return plan

    def __len__(self) -> int:
        return len(self._plans)
