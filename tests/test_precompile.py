"""boo-precompile: local pool, Dask workers (caller stores), GPU-target caches that relocate."""

import shutil
import sys

import pytest

from boo_shim.cache import KernelCache
from boo_shim.compile import compile_signature
from boo_shim.grammar import parse_command
from boo_shim.precompile import collect, main, precompile

# Tiny: each compiles in about a second.
CMDS = [
    "conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1",
    "conv -n 1 -c 4 -H 5 -W 5 -k 8 -y 1 -x 1 -F 1",
]


def sigs():
    return [s for c in CMDS for s in parse_command(c).signatures]


def test_cli_gpu_targets_then_relocated_cache_hits(tmp_path, capsys):
    cmds = tmp_path / "cmds.txt"
    cmds.write_text("# two tiny convs and a bad line\n" + "\n".join(CMDS) + "\nconv -n 1 -c 7 -g 2 -F 1\n")
    built = tmp_path / "built"
    rc = main(["-f", str(cmds), "--target", "cuda:sm_80", "--target", "rocm:gfx942",
               "--cache-dir", str(built), "-j", "1", "-q"])
    out = capsys.readouterr().out
    assert rc == 1, out  # the invalid line counts as a failure
    assert "2 signatures x 2 targets = 4 kernels" in out
    assert "compiled 4, cached already 0, failed 1" in out
    assert "INVALID" in out and ":4:" in out

    # "Build here, run there": the cache is a plain directory tree; copy it and look up from there.
    moved = tmp_path / "elsewhere" / "cache"
    shutil.copytree(built, moved)
    shutil.rmtree(built)
    for sig in sigs():
        for target in ("cuda:sm_80", "rocm:gfx942"):
            k = compile_signature(sig, target, cache=moved)
            assert k.cache_hit, (sig.func_name, target)
            assert k.entry.path.is_relative_to(moved)
            assert k.entry.read_vmfb()  # the hash in meta.json still matches

    # --check on the "run machine": everything the file needs is there; a target never built is not.
    assert main(["-f", str(cmds), "--target", "cuda:sm_80", "--cache-dir", str(moved), "--check", "-q"]) == 1
    out = capsys.readouterr().out
    assert "cached already 2, failed 1" in out  # only the invalid line
    assert main(["-c", CMDS[0], "--target", "cuda:sm_90", "--cache-dir", str(moved), "--check", "-q"]) == 1
    out = capsys.readouterr().out
    assert "compiled 0, cached already 0, missing 1, failed 0" in out and "MISSING" in out
    assert not (moved / "v1" / "cuda-sm_90").exists() or not any((moved / "v1" / "cuda-sm_90").iterdir())

    # A second run over the copy compiles nothing.
    rc = main(["-f", str(cmds), "-F", "fwd", "--target", "cuda:sm_80", "--cache-dir", str(moved), "-q"])
    assert "compiled 0, cached already 2" in capsys.readouterr().out


def test_local_pool_spawn_and_failure_reason(tmp_path):
    tasks, invalid = collect([("-c", c) for c in CMDS], ["cpu"])
    assert not invalid and len(tasks) == 2
    s = precompile(tasks, tmp_path, jobs=2, progress=False)
    assert s.count("compiled") == 2 and s.failed == 0, s.lines()
    for sig in sigs():
        assert compile_signature(sig, "cpu", cache=tmp_path).cache_hit

    # A strategy that cannot build a signature fails with a reason and does not stop the batch.
    tasks, _ = collect([("-c", CMDS[0])], ["cpu"])
    s = precompile(tasks, tmp_path, strategy="nonsense", progress=False)
    assert s.failed == 1 and "nonsense" in tasks[0].reason


def test_dask_workers_build_caller_stores_same_keys(tmp_path):
    distributed = pytest.importorskip("distributed")
    cache = KernelCache(tmp_path / "cache")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        tasks, _ = collect([("-c", c) for c in CMDS], ["cpu", "cuda:sm_80"])
        s = precompile(tasks, cache, client=client, progress=False)
        assert s.count("compiled") == 4 and s.failed == 0, s.lines()
        assert s.where.startswith("dask")
        # Again: everything is found before anything is submitted.
        s = precompile(tasks, cache, scheduler=cluster.scheduler_address, progress=False)
        assert s.count("cached") == 4, s.lines()
    for sig in sigs():
        for target in ("cpu", "cuda:sm_80"):
            k = compile_signature(sig, target, cache=cache)
            assert k.cache_hit, (sig.func_name, target)
            assert k.entry.meta["built_on"]["key"] == k.entry.path.name
            assert (k.entry.path / "compile.sh").exists()


def test_scheduler_without_dask_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    rc = main(["-c", CMDS[0], "--scheduler", "tcp://127.0.0.1:1", "--cache-dir", str(tmp_path)])
    assert rc == 2
    assert "boo-shim[dask]" in capsys.readouterr().err
