"""Compile + on-disk cache: hit, miss, single build across processes, corrupt entries rebuilt."""

import json
import subprocess
import sys
import textwrap

import pytest

from boo_shim.cache import KernelCache
from boo_shim.compile import compile_signature
from boo_shim.errors import MIOpenStatus
from boo_shim.conv import ConvSignature
from boo_shim.runtime import LoadedKernels
from boo_shim.targets import parse_target

SIG = ConvSignature.from_command("conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1")


def test_targets_and_flags():
    assert parse_target("cpu").compile_flags()[-1] == "--iree-llvmcpu-target-cpu=host"
    assert "--iree-cuda-target=sm_80" in parse_target("cuda").compile_flags()
    assert "--iree-rocm-target=gfx90a" in parse_target("rocm:gfx90a").compile_flags()
    with pytest.raises(Exception, match="unknown target"):
        parse_target("tpu")


def test_miss_then_hit_and_entry_contents(tmp_path):
    first = compile_signature(SIG, "cpu", cache=tmp_path, strategy="export")
    assert not first.cache_hit and first.compile_seconds > 0
    second = compile_signature(SIG, "cpu", cache=tmp_path, strategy="export")
    assert second.cache_hit and second.entry.path == first.entry.path
    files = sorted(p.name for p in first.entry.path.iterdir())
    assert files == ["compile.sh", "kernel.mlir", "kernel.vmfb", "meta.json"]
    meta = json.loads((first.entry.path / "meta.json").read_text())
    assert meta["command"] == SIG.to_command() and meta["compiler"].startswith("3.13")
    assert "iree-compile kernel.mlir" in (first.entry.path / "compile.sh").read_text()
    # Different flags -> a different entry.
    other = compile_signature(SIG, "cpu", cache=tmp_path, strategy="export", extra_flags=("--iree-opt-level=O1",))
    assert not other.cache_hit and other.entry.path != first.entry.path


def test_reproduce_command_rebuilds_the_same_vmfb(tmp_path):
    c = compile_signature(SIG, "cpu", cache=tmp_path, strategy="export")
    import os
    from boo_shim.compile import _iree_compile
    env = dict(os.environ, PATH=os.path.dirname(_iree_compile()) + os.pathsep + os.environ["PATH"])
    original = c.entry.vmfb_path.read_bytes()
    subprocess.run(["sh", str(c.entry.path / "compile.sh")], check=True, env=env)
    assert c.entry.vmfb_path.read_bytes() == original


def test_concurrent_compiles_of_one_key_build_once(tmp_path):
    script = textwrap.dedent(f"""
        from boo_shim.compile import compile_signature
        from boo_shim.conv import ConvSignature
        sig = ConvSignature.from_command({SIG.to_command()!r})
        print(compile_signature(sig, "cpu", cache={str(tmp_path)!r}, strategy="export").cache_hit)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    hits = sorted(p.communicate()[0].strip() for p in procs)
    assert hits == ["False", "True"]
    assert len(KernelCache(tmp_path).entries()) == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta"])
def test_corrupt_entry_is_rebuilt_not_run(tmp_path, damage):
    c = compile_signature(SIG, "cpu", cache=tmp_path, strategy="export")
    vmfb = c.entry.vmfb_path
    data = bytearray(vmfb.read_bytes())
    if damage == "truncate":
        vmfb.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
        vmfb.write_bytes(bytes(data))
    else:
        (c.entry.path / "meta.json").write_text("{not json")
    kernel = LoadedKernels().get(SIG, "cpu", cache_dir=tmp_path, strategy="export")
    assert not kernel.compiled.cache_hit  # rebuilt
    x, w = SIG.get_sample_conv_args(seed=0)
    torch_ref = SIG.get_nn_module()(x, w)
    assert (kernel(x, w) - torch_ref).abs().max() < 1e-5


def test_boo_cache_cli(tmp_path):
    compile_signature(SIG, "cpu", cache=tmp_path, strategy="export")
    compile_signature(SIG.with_mode("bwd"), "cpu", cache=tmp_path, strategy="export")
    run = lambda *a: subprocess.run([sys.executable, "-m", "boo_shim.cache_cli", "--cache-dir", str(tmp_path), *a],
                                    capture_output=True, text=True, check=True).stdout
    listing = run("list")
    assert "2 entries" in listing and SIG.to_command() in listing
    assert "total" in run("summary")
    assert "removed 2 entries" in run("prune", "--max-size", "1K")
    assert "0 entries" in run("list")
    compile_signature(SIG, "cpu", cache=tmp_path, strategy="export")
    assert "removed 1 entries" in run("clear")


# ----------------------------------------------------------------------------- damaged entries and locks
def _fake_build(tag: str = "x"):
    from boo_shim.cache import BuildResult

    return lambda: BuildResult(vmfb=b"vmfb-" + tag.encode(), mlir="// ir", command="true",
                               meta={"command": f"conv {tag}", "strategy": "fast", "compile_seconds": 0.1})


@pytest.mark.parametrize("meta", ["[]", "null", '"x"', "3", '{"vmfb_size": "big"}'])
def test_meta_that_is_not_an_entry_is_rebuilt(tmp_path, meta):
    cache = KernelCache(tmp_path)
    entry, hit = cache.get_or_build("t", "k", _fake_build())
    (entry.path / "meta.json").write_text(meta)
    assert cache.lookup("t", "k") is None  # not AttributeError, and the entry heals
    entry, hit = cache.get_or_build("t", "k", _fake_build())
    assert not hit and entry.read_vmfb() == b"vmfb-x"
    (entry.path / "meta.json").write_text(meta)
    listing = subprocess.run([sys.executable, "-m", "boo_shim.cache_cli", "--cache-dir", str(tmp_path), "list"],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "1 entries" in listing.stdout, listing.stderr


def test_stuck_lock_holder_times_out_with_a_clear_error(tmp_path):
    from boo_shim.cache import CacheLockTimeout

    cache = KernelCache(tmp_path, lock_timeout_s=0.5)
    lock = tmp_path / "v1" / "t" / "k.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode())
        print("held", flush=True); time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CacheLockTimeout, match=f"pid {holder.pid}") as e:
            cache.get_or_build("t", "k", _fake_build())
        assert e.value.status == MIOpenStatus.InternalError
    finally:
        holder.kill()
        holder.wait()
    entry, hit = cache.get_or_build("t", "k", _fake_build())  # the holder is gone: works
    assert not hit


@pytest.mark.parametrize("kind", ["dangling", "directory", "symlink-to-file"])
def test_broken_lock_paths_are_repaired(tmp_path, kind):
    cache = KernelCache(tmp_path, lock_timeout_s=5)
    lock = tmp_path / "v1" / "t" / "k.lock"
    lock.parent.mkdir(parents=True)
    victim = tmp_path / "victim"
    if kind == "dangling":
        lock.symlink_to(tmp_path / "no" / "such" / "dir" / "file")
    elif kind == "directory":
        (lock / "sub").mkdir(parents=True)
    else:
        victim.write_text("keep")
        lock.symlink_to(victim)
    entry, hit = cache.get_or_build("t", "k", _fake_build())
    assert not hit and entry.read_vmfb() == b"vmfb-x"
    assert not lock.exists() and not lock.is_symlink()
    if kind == "symlink-to-file":
        assert victim.read_text() == "keep"


def test_lock_files_do_not_pile_up(tmp_path):
    cache = KernelCache(tmp_path)
    for i in range(3):
        cache.get_or_build("t", f"k{i}", _fake_build(str(i)))
    assert not list((tmp_path / "v1" / "t").glob("*.lock"))
    # Leftovers from a crash or an older version: clear and prune remove them.
    (tmp_path / "v1" / "t" / "old.lock").write_text("123")
    (tmp_path / "v1" / "t" / "gone.lock").symlink_to(tmp_path / "nowhere")
    cache.prune(1 << 40)
    assert not [p for p in (tmp_path / "v1" / "t").iterdir() if p.name.endswith(".lock")]
    (tmp_path / "v1" / "t" / "old.lock").write_text("123")
    assert cache.clear() == 3
    assert not [p for p in (tmp_path / "v1" / "t").iterdir() if p.name.endswith(".lock")]
