"""native/tests/torch_like_client.c: a PyTorch-like MIOpen convolution client that checks its own results
against a float64 direct loop (MIOpen's metric and tolerances).

Run against the reference libMIOpen.so.1 alone, and through the shim with a real boo daemon and
BOO_FALLBACK=error, so that every convolution is served by boo.  The descriptor-churn test runs only the
two layers that differ in nothing but dilation, with descriptors created and destroyed around each call:
a shim that keys anything on descriptor identity serves the second layer with the first one's kernel.
"""

from __future__ import annotations

import re

from native_harness import run_program

SUMMARY = re.compile(r"summary: (\d+) cases, (\d+) iterations, (\d+) checks, (\d+) passed, (\d+) failed, "
                     r"(\d+) failed MIOpen calls")


def summary(p):
    m = SUMMARY.search(p.stdout)
    assert m, f"no summary (rc={p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return [int(v) for v in m.groups()]


def failures(p) -> str:
    bad = [ln for ln in p.stdout.splitlines() if " FAIL " in ln or " ERROR " in ln]
    return "\n".join(bad[:40]) + "\n" + p.stderr[-4000:]


def test_client_on_reference_lib(native_tree):
    p = run_program(native_tree, "torch_like_client")
    cases, iters, checks, passed, failed, bad_calls = summary(p)
    assert p.returncode == 0 and failed == 0 and bad_calls == 0, failures(p)
    assert cases >= 40 and iters == 2 and checks == passed


def test_client_case_list(native_tree):
    listed = run_program(native_tree, "torch_like_client", ["--list"])
    assert listed.returncode == 0
    names = [ln.split()[0] for ln in listed.stdout.splitlines()]
    assert len(names) == len(set(names)) >= 40
    assert {"dilpair_d1", "dilpair_d2"} <= set(names)
    bad = run_program(native_tree, "torch_like_client", ["--iters"])
    assert bad.returncode == 2


def test_client_through_shim(native_tree, boo_daemon):
    p = run_program(native_tree, "torch_like_client", shim=True, endpoint=boo_daemon,
                    env_extra={"BOO_FALLBACK": "error"}, timeout=600)
    cases, iters, checks, passed, failed, bad_calls = summary(p)
    assert p.returncode == 0 and failed == 0 and bad_calls == 0, failures(p)
    assert "fallback" not in p.stderr, p.stderr[-3000:]
    assert cases >= 40 and checks == passed


def test_descriptor_churn_dilation_only(native_tree, boo_daemon):
    """Two consecutive layers with identical shapes that differ only in dilation, descriptors created and
    destroyed around every call (no attribute calls, as older PyTorch): each result must be its own."""
    p = run_program(native_tree, "torch_like_client", ["--only", "dilpair", "--no-attrs", "--iters", "4"],
                    shim=True, endpoint=boo_daemon, env_extra={"BOO_FALLBACK": "error"})
    cases, iters, checks, passed, failed, bad_calls = summary(p)
    assert (cases, iters, checks) == (2, 4, 16)
    assert p.returncode == 0 and failed == 0 and bad_calls == 0, failures(p)
