"""Daemon overheads: round trip vs in-process, large-tensor bandwidth, multi-client throughput.

    .venv/bin/python bench/daemon_latency.py            # starts its own daemon (tmp endpoint + cache)
    .venv/bin/python bench/daemon_latency.py --endpoint ipc:///run/user/1000/boo/daemon.sock

Prints markdown tables (the figures in docs/daemon.md come from here).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

TINY = "conv -n 1 -c 4 -H 8 -W 8 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1"
# 16 MiB in, 16 MiB out (fp32), 16 multiply-adds a value: a kernel that runs at memory speed
LARGE = "conv -n 1 -c 16 -H 512 -W 512 -k 16 -y 1 -x 1 -F 1 --in_layout NHWC --fil_layout NHWC --out_layout NHWC"


def pct(xs, p):
    return float(np.percentile(np.asarray(xs) * 1e6, p))


def inputs(sig):
    from boo_shim.runtime import aligned, to_numpy

    return [aligned(np.array(to_numpy(t))) for t in sig.get_sample_conv_args(seed=0)]


def timed(fn, n, warm=20):
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


_WORKER = r"""
import sys, time, json
import numpy as np
from boo_shim.client import BooClient
from boo_shim.conv import ConvSignature
from boo_shim.runtime import to_numpy
endpoint, command, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sig = ConvSignature.from_command(command)
args = [to_numpy(t) for t in sig.get_sample_conv_args(seed=0)]
c = BooClient(endpoint, timeout_s=60)
for _ in range(20):
    c.run(sig, *args)
print("ready", flush=True)
sys.stdin.readline()
n, lat = 0, []
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    t0 = time.perf_counter()
    c.run(sig, *args)
    lat.append(time.perf_counter() - t0)
    n += 1
print(json.dumps({"n": n, "p50": float(np.median(lat))}), flush=True)
"""


def throughput(endpoint, nproc, seconds):
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, endpoint, TINY, str(seconds)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(nproc)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    res = [json.loads(p.communicate(timeout=seconds + 120)[0]) for p in procs]
    wall = time.perf_counter() - t0
    total = sum(r["n"] for r in res)
    return total / max(wall, seconds), float(np.median([r["p50"] for r in res])) * 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", default=None, help="use this running daemon instead of starting one")
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--large-iters", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=3.0, help="per throughput point")
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from boo_shim.client import BooClient
    from boo_shim.conv import ConvSignature
    from boo_shim.runtime import LoadedKernels, aligned

    own = args.endpoint is None
    tmp = tempfile.mkdtemp(prefix="boo-bench-", dir="/tmp")
    endpoint = args.endpoint or f"ipc://{tmp}/daemon.sock"
    cache_dir = os.path.join(tmp, "cache")
    if own:
        subprocess.run([sys.executable, "-m", "boo_daemon.cli", "start", "--endpoint", endpoint, "--cache-dir",
                        cache_dir], check=True, capture_output=True)
    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()}-core {platform.machine()}"}
    try:
        client = BooClient(endpoint, timeout_s=60)
        hello = client.hello()
        cache_dir = hello["cache_dir"]
        tiny, large = ConvSignature.from_command(TINY), ConvSignature.from_command(LARGE)
        client.compile(tiny)
        client.compile(large)
        kernels = LoadedKernels()
        k_tiny = kernels.get(tiny, "cpu", cache_dir=cache_dir)
        k_large = kernels.get(large, "cpu", cache_dir=cache_dir)

        # 1. Round trip of a cached tiny conv.
        a = inputs(tiny)
        lat = {
            "in-process Kernel.run": timed(lambda: k_tiny.run(*a), args.iters),
            "daemon hello (no work)": timed(client.hello, args.iters),
            "daemon run, inline": timed(lambda: client.run(tiny, *a, use_shm=False), args.iters),
            "daemon run, shm": timed(lambda: client.run(tiny, *a, use_shm=True), args.iters),
        }
        results["latency_us"] = {k: {"p50": pct(v, 50), "p99": pct(v, 99)} for k, v in lat.items()}

        # 2. Large tensors: bytes in + bytes out per second.
        b = [aligned(x) for x in inputs(large)]
        moved = sum(x.nbytes for x in b) + int(np.prod(large.result_shape)) * 4
        into = aligned(np.empty(large.result_shape, np.float32))
        src = np.ones(moved // 4, np.float32)
        dst = np.empty_like(src)
        bw = {
            "plain memcpy (np.copyto, same bytes)": timed(lambda: np.copyto(dst, src), args.large_iters, warm=3),
            "in-process Kernel.run": timed(lambda: k_large.run(*b), args.large_iters, warm=3),
            "in-process Kernel.run, out=": timed(lambda: k_large.run(*b, out=into), args.large_iters, warm=3),
            "daemon run, inline frames": timed(lambda: client.run(large, *b, use_shm=False), args.large_iters, warm=3),
            "daemon run, shared memory": timed(lambda: client.run(large, *b, use_shm=True), args.large_iters, warm=3),
            "daemon run, shared memory, out=": timed(lambda: client.run(large, *b, use_shm=True, out=into),
                                                     args.large_iters, warm=3),
        }
        results["large"] = {"bytes": moved, **{k: {"ms": float(np.median(v)) * 1e3,
                                                    "GB/s": moved / float(np.median(v)) / 1e9}
                                                for k, v in bw.items()}}

        # 3. Throughput with N client processes.
        results["throughput"] = {}
        for n in [int(x) for x in args.clients.split(",")]:
            rate, p50 = throughput(endpoint, n, args.seconds)
            results["throughput"][n] = {"calls/s": rate, "p50_us": p50}
        client.close()
    finally:
        if own:
            subprocess.run([sys.executable, "-m", "boo_daemon.cli", "stop", "--endpoint", endpoint],
                           capture_output=True)
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"# boo daemon latency ({results['date']}, {results['machine']})\n")
    print(f"Tiny conv `{TINY}` (cached), {args.iters} calls each:\n")
    print("| path | p50 us | p99 us |\n|---|---:|---:|")
    for k, v in results["latency_us"].items():
        print(f"| {k} | {v['p50']:.0f} | {v['p99']:.0f} |")
    print(f"\nLarge tensors `{LARGE}`: {results['large']['bytes'] / 2**20:.0f} MiB moved per call "
          f"(input + output), median of {args.large_iters}:\n")
    print("| path | ms | GB/s |\n|---|---:|---:|")
    for k, v in results["large"].items():
        if k != "bytes":
            print(f"| {k} | {v['ms']:.2f} | {v['GB/s']:.2f} |")
    print(f"\nThroughput, tiny conv, {args.seconds:g} s per point:\n")
    print("| client processes | calls/s | p50 us per call |\n|---:|---:|---:|")
    for n, v in results["throughput"].items():
        print(f"| {n} | {v['calls/s']:.0f} | {v['p50_us']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
