"""The shim's C hot path (native/shim/fast_call.c, boo_shim/shim/fast.py), with real programs.

A convolution the shim has served once, with descriptors of the same content, is served from C
without entering Python. These tests check that it is taken (the programs print how many calls
it served), that it is never taken with stale descriptors, and that a daemon killed or restarted
in the middle of a stream of fast calls leaves the program with an error or with correct
answers, never hanging.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time


from daemon_helpers import cleanup_short_dirs, cli, short_dir  # noqa: E402,F401
from native_harness import run_program
from test_torch_client import failures, summary

FAST = re.compile(r"fast_calls=(\d+)")
CLIENT_FAST = re.compile(r"boo fast path: (\d+) calls")


def bench(tree, endpoint, iters, warmup=10, env_extra=None, **kw):
    env = {"BOO_FALLBACK": "error", **(env_extra or {})}
    return run_program(tree, "shim_bench", [iters, warmup], shim=True, endpoint=endpoint, env_extra=env, **kw)


def fast_calls(stdout: str) -> int:
    """How many calls the C path served, as the program printed it."""
    m = FAST.search(stdout)
    assert m, stdout
    return int(m.group(1))


def test_repeated_calls_take_the_c_path(native_tree, boo_daemon):
    on = bench(native_tree, boo_daemon, 200)
    assert on.returncode == 0, on.stderr[-2000:]
    assert fast_calls(on.stdout) == 209  # all but the first, which Python served and offered
    off = bench(native_tree, boo_daemon, 50, env_extra={"BOO_SHIM_FAST": "0"})
    assert off.returncode == 0 and fast_calls(off.stdout) == 0
    # what needs Python to see every call keeps it off
    traced = bench(native_tree, boo_daemon, 20, env_extra={"BOO_LOG_CMD": "1"})
    assert traced.returncode == 0 and fast_calls(traced.stdout) == 0
    assert traced.stderr.count("[LogCmdConvolution]") == 30  # every call, as the user asked


def test_fresh_descriptors_every_call_still_hit(native_tree, boo_daemon):
    """PyTorch's pattern: descriptors created, set and destroyed around every call; equal
    content, so the C path serves all but the first."""
    p = bench(native_tree, boo_daemon, 100, env_extra={"SHIM_BENCH_FRESH_DESCRIPTORS": "1"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert fast_calls(p.stdout) == 109


def test_torch_like_client_checked_results_on_both_paths(native_tree, boo_daemon):
    """Every case checked against float64 by the program itself, with fresh descriptors every
    call: once with the C path (which serves the second pass's repeated calls), once without."""
    for fast, env in ((True, {}), (False, {"BOO_SHIM_FAST": "0"})):
        p = run_program(native_tree, "torch_like_client", ["--iters", "2"], shim=True, endpoint=boo_daemon,
                        env_extra={"BOO_FALLBACK": "error", **env}, timeout=600)
        cases, iters, checks, passed, failed, bad_calls = summary(p)
        assert p.returncode == 0 and failed == 0 and bad_calls == 0, failures(p)
        served = int(CLIENT_FAST.search(p.stdout).group(1))
        assert (served > 20) if fast else served == 0, p.stdout[-500:]


def test_churn_between_layers_never_hits_stale(native_tree, boo_daemon):
    """Two layers identical but for dilation, alternating, descriptors recreated every call at
    the addresses the other layer's just had: each result must be its own, and most calls must
    still be served from C (so the check is of the C path)."""
    p = run_program(native_tree, "torch_like_client", ["--only", "dilpair", "--no-attrs", "--iters", "6"],
                    shim=True, endpoint=boo_daemon, env_extra={"BOO_FALLBACK": "error"})
    cases, iters, checks, passed, failed, bad_calls = summary(p)
    assert (cases, iters) == (2, 6) and p.returncode == 0 and failed == 0 and bad_calls == 0, failures(p)
    assert int(CLIENT_FAST.search(p.stdout).group(1)) >= checks // 2


def _own_daemon(prefix):
    d = short_dir(prefix)
    endpoint = f"ipc://{d}/d.sock"
    cli("start", "--endpoint", endpoint, "--cache-dir", str(d / "cache"), "--workers", "1", check=True)
    return d, endpoint


def _daemon_pid(endpoint) -> int:
    from boo_shim.client import BooClient

    with BooClient(endpoint, timeout_s=30) as c:
        return c.hello()["pid"]


def _shim_env(tree, endpoint, fallback: str, **extra) -> dict:
    """This environment without boo's settings, plus the shim in front of the program."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOO_") and k != "LD_PRELOAD"}
    env.update(LD_PRELOAD=str(tree["shim"]), BOO_ENDPOINT=endpoint, BOO_FALLBACK=fallback, **extra)
    return env


def test_daemon_killed_mid_stream_gives_an_error_fast(native_tree):
    d, endpoint = _own_daemon("boo-fk-")
    env = _shim_env(native_tree, endpoint, "error")
    prog = subprocess.Popen([str(native_tree["bin"] / "shim_bench"), "100000000", "10"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3.0)  # well into the stream of fast calls
        assert prog.poll() is None, prog.communicate()
        os.kill(_daemon_pid(endpoint), signal.SIGKILL)
        t0 = time.monotonic()
        out, err = prog.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        if prog.poll() is None:
            prog.kill()
        cli("stop", "--endpoint", endpoint, timeout=30)
    assert prog.returncode == 1 and "failed" in err, (prog.returncode, err[-2000:])
    assert took < 5.0, f"the program needed {took:.1f} s to see the daemon gone"


def test_daemon_restarted_mid_stream_is_picked_up(native_tree):
    """The daemon restarts while the program pauses: its next call names a plan the new daemon
    never made; C gives the call back, Python registers the plan again, and the stream goes on
    from C."""
    d, endpoint = _own_daemon("boo-fr-")
    env = _shim_env(native_tree, endpoint, "error", SHIM_BENCH_PAUSE="60")
    prog = subprocess.Popen([str(native_tree["bin"] / "shim_bench"), "100", "10"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert prog.stdout.readline().strip() == "paused"
        cli("stop", "--endpoint", endpoint, timeout=60, check=True)
        cli("start", "--endpoint", endpoint, "--cache-dir", str(d / "cache"), "--workers", "1", check=True)
        out, err = prog.communicate("go\n", timeout=120)  # the new daemon answers: go on
    finally:
        if prog.poll() is None:
            prog.kill()
        cli("stop", "--endpoint", endpoint, timeout=30)
    assert prog.returncode == 0, err[-2000:]
    n = int(FAST.search(out).group(1))
    assert n == 108, out  # 110 calls: the first and the first after the restart went through Python


def test_descriptors_changed_in_place_seeded(native_tree, boo_daemon):
    """native/tests/descriptor_mutation.c: one set of descriptors re-Set in place (shapes,
    padding, stride, dilation, groups) in a seeded random order, every result checked against
    a direct loop and a guard zone after the output. Against the reference library first (the
    program's own loop is right), then through the shim with three seeds and in immediate mode;
    the C path serves most calls, so its invalidation is what is checked."""
    for extra in ([], ["immediate"]):
        ref = run_program(native_tree, "descriptor_mutation", [7, 100, *extra])
        assert ref.returncode == 0 and "mismatches=0" in ref.stdout, ref.stdout + ref.stderr
    for seed in (1, 2, 3):
        p = run_program(native_tree, "descriptor_mutation", [seed, 250], shim=True, endpoint=boo_daemon,
                        env_extra={"BOO_FALLBACK": "error"})
        assert p.returncode == 0 and "mismatches=0" in p.stdout, p.stdout + p.stderr[-3000:]
        assert fast_calls(p.stdout) >= 200, p.stdout
    # immediate mode (PyTorch's default path), and a wrong solution id refused with BadParm
    imm = run_program(native_tree, "descriptor_mutation", [5, 150, "immediate"], shim=True, endpoint=boo_daemon,
                      env_extra={"BOO_FALLBACK": "error"})
    assert imm.returncode == 0 and "mismatches=0" in imm.stdout, imm.stdout + imm.stderr[-3000:]
    assert fast_calls(imm.stdout) >= 120, imm.stdout
    off = run_program(native_tree, "descriptor_mutation", [4, 60], shim=True, endpoint=boo_daemon,
                      env_extra={"BOO_FALLBACK": "error", "BOO_SHIM_FAST": "0"})
    assert off.returncode == 0 and fast_calls(off.stdout) == 0, off.stdout + off.stderr[-3000:]


def test_a_forked_program_keeps_its_answers(native_tree, boo_daemon):
    """descriptor_mutation forks halfway: parent and child call at once, each checking every
    result against its direct loop. Each process must talk to the daemon on a connection of its
    own (a shared stream would hand one the other's replies), and the child's calls reach the C
    path again after it configured it for itself."""
    for extra in ([], ["immediate"]):
        p = run_program(native_tree, "descriptor_mutation", [9, 300, *extra], shim=True, endpoint=boo_daemon,
                        env_extra={"BOO_FALLBACK": "error", "DESCRIPTOR_MUTATION_FORK": "1"})
        lines = p.stdout.strip().splitlines()
        assert p.returncode == 0 and len(lines) == 2, p.stdout + p.stderr[-3000:]
        assert sorted(ln.split("calls=")[0] for ln in lines) == ["", "child "], lines
        assert all("mismatches=0" in ln for ln in lines), lines
        # The child's count starts from its parent's at the fork (about 140): past 200, the child
        # too was served from C after it forked.
        assert min(fast_calls(ln) for ln in lines) >= 200, lines


def test_descriptor_table_against_a_model(native_tree):
    """The C side's pointer -> content-id table (open addressing, backward-shift deletion), fuzzed
    with a seed against a dict: pointers 16 bytes apart, as allocations are, so that probe runs
    form and deletions have to shift them. A slip here would hand a descriptor an old content."""
    import ctypes
    import random

    lib = ctypes.CDLL(str(native_tree["shim"]))  # its constructor only sets a hook: no Python runs
    lib.boo_fast_note.argtypes = [ctypes.c_size_t, ctypes.c_uint64]
    lib.boo_fast_descriptor_content.argtypes = [ctypes.c_size_t]
    lib.boo_fast_descriptor_content.restype = ctypes.c_uint64
    rng = random.Random(16)
    base = 0x7F0000001000
    pool = [base + 16 * i for i in range(3000)]
    model: dict[int, int] = {}
    for step in range(60000):
        ptr = rng.choice(pool)
        if rng.random() < 0.45:
            lib.boo_fast_note(ptr, 0)
            model.pop(ptr, None)
        else:
            cid = rng.randrange(1, 1 << 40)
            lib.boo_fast_note(ptr, cid)
            model[ptr] = cid
        if step % 5000 == 4999:
            for p in pool:
                assert lib.boo_fast_descriptor_content(p) == model.get(p, 0), (step, hex(p))
    for p in pool:
        lib.boo_fast_note(p, 0)
    assert all(lib.boo_fast_descriptor_content(p) == 0 for p in pool)


def test_many_program_threads_on_the_c_path(native_tree, boo_daemon):
    """native/tests/shim_threads.c: 6 threads, each with its own handle and descriptors, 30 calls
    each (all but the first few served from C, a socket per thread); every result bit-identical
    across threads, and the sum as the reference library's."""
    plain = run_program(native_tree, "shim_threads", [6, 30])
    p = run_program(native_tree, "shim_threads", [6, 30], shim=True, endpoint=boo_daemon,
                    env_extra={"BOO_FALLBACK": "error"})
    assert plain.returncode == 0 and p.returncode == 0, p.stdout + p.stderr[-2000:]
    a = float(re.search(r"checksum=(\S+)", plain.stdout).group(1))
    b = float(re.search(r"checksum=(\S+)", p.stdout).group(1))
    assert abs(a - b) <= 1e-3 * max(1.0, abs(a))


def test_daemon_killed_and_restarted_under_a_checked_stream(native_tree):
    """Chaos: descriptor_mutation (every result checked against direct loops) runs 4000 calls with
    BOO_FALLBACK=native while the daemon is SIGKILLed and restarted twice. Calls in the gaps go to
    the native library, calls after a restart come back to boo and to the C path; nothing may be
    wrong, hang or crash."""
    d, endpoint = _own_daemon("boo-fc-")
    env = _shim_env(native_tree, endpoint, "native")
    prog = subprocess.Popen([str(native_tree["bin"] / "descriptor_mutation"), "11", "4000"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(2):
            time.sleep(2.0)
            assert prog.poll() is None, prog.communicate()  # still in the middle of its stream
            os.kill(_daemon_pid(endpoint), signal.SIGKILL)
            time.sleep(0.5)
            cli("start", "--endpoint", endpoint, "--cache-dir", str(d / "cache"), "--workers", "1", check=True)
        out, err = prog.communicate(timeout=300)
    finally:
        if prog.poll() is None:
            prog.kill()
        cli("stop", "--endpoint", endpoint, timeout=30)
    assert prog.returncode == 0 and "mismatches=0" in out, out + err[-3000:]
    assert "fallback to native MIOpen" in err  # the gaps were served natively
    assert fast_calls(out) > 1000
