"""Soak: an hour of bad luck scaled into minutes, against one boo daemon (issue 15).

Client processes connect, call (inline and through shared memory, results checked against
references), send malformed messages, crash (SIGKILL, some with a request in flight and a
segment in /dev/shm) and are replaced; the daemon itself is SIGKILLed and restarted a few
times in the first half. Every call is retried across daemon restarts until it succeeds or a
deadline passes (then it is "lost").

Reports: calls served, wrong, lost, bad messages sent (all answered), client crashes, daemon
restarts, daemon RSS after warm-up and at the end (the last incarnation, which runs the whole
second half), /dev/shm entries of ours left at the end, and processes left behind (clients,
daemons, compile workers, resource trackers).

    .venv/bin/python bench/soak.py --duration 90 --clients 4 --kills 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
SIGS = [
    "conv -n 1 -c 4 -H 8 -W 8 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1",
    "conv -n 2 -c 3 -H 9 -W 7 -k 5 -y 3 -x 3 -p 1 -q 1 -F 2",
    "conv -n 1 -c 8 -H 64 -W 64 -k 8 -y 1 -x 1 -F 1",  # 128 KiB in, 128 KiB out
]

CLIENT = r"""
import json, os, random, signal, sys, time
import numpy as np, torch, zmq
from boo_shim import protocol as P
from boo_shim.client import BooClient, DaemonUnavailable
from boo_shim.conv import ConvSignature
from boo_shim.runtime import to_numpy

endpoint, sigs, seed, stats_path = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
cases = []
for cmd in sigs:
    sig = ConvSignature.from_command(cmd)
    args = [to_numpy(t) for t in sig.get_sample_conv_args(seed=seed % 7)]
    ref = sig.get_nn_module()(*[torch.from_numpy(a.astype(np.float64)) for a in args]).numpy()
    cases.append((sig, args, ref))
served = wrong = lost = bad = 0

def save():
    tmp = stats_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"served": served, "wrong": wrong, "lost": lost, "bad": bad, "pid": os.getpid()}, f)
    os.replace(tmp, stats_path)

def bad_message():
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.RCVTIMEO, 30000)
    s.connect(endpoint)
    msgs = [[b"[" * 60000], [rng.randbytes(rng.randrange(0, 200))],
            [json.dumps({"v": True, "op": "hello", "id": 1}).encode()],
            [json.dumps({"v": 1, "op": "run", "id": 2, "signature": cases[0][0].as_dict(), "inputs": [
                {"dtype": "f32", "shape": list(cases[0][1][0].shape), "shm": {"name": "boo-1-abcdef0123456789",
                 "offset": 0, "nbytes": cases[0][1][0].nbytes}}, {"dtype": "f32", "shape": [1], "inline": 0}]}).encode(), b"xx"]]
    s.send_multipart(rng.choice(msgs))
    try:
        ok = not json.loads(s.recv_multipart()[0])["ok"]
    except zmq.Again:
        ok = False  # the daemon was being killed; a bad message is not a call: not counted
    s.close()
    return ok

c = BooClient(endpoint, timeout_s=20, compile_timeout_s=60)
while True:
    r = rng.random()
    if r < 0.01:  # crash with a call in flight (the daemon must not care)
        sig, args, _ = rng.choice(cases)
        try:
            c._conn().sock.send_multipart(P.encode(P.request_header(
                "find", 1, signature=sig.as_dict(), iters=200, warmup=0)), zmq.NOBLOCK)
            time.sleep(0.01)
        except zmq.ZMQError:
            pass
        save()
        os.kill(os.getpid(), signal.SIGKILL)
    if r < 0.02:  # crash holding a shared-memory segment (the daemon unlinks it)
        save()
        os.kill(os.getpid(), signal.SIGKILL)
    if r < 0.05:
        bad += bad_message()
        save()
        continue
    if r < 0.07:  # reconnect
        c.close()
        c = BooClient(endpoint, timeout_s=20, compile_timeout_s=60)
        continue
    sig, args, ref = rng.choice(cases)
    deadline = time.monotonic() + 90
    while True:
        try:
            got = c.run(sig, *args, use_shm=rng.random() < 0.5)
            served += 1
            err = float(np.sqrt(np.mean((got - ref) ** 2)) / max(np.abs(ref).max(), 1e-30))
            wrong += err > 1e-5
            break
        except DaemonUnavailable:
            if time.monotonic() > deadline:
                lost += 1
                break
            time.sleep(0.2)
    save()
"""


def cli(*args, timeout=180):
    return subprocess.run([PY, "-m", "boo_daemon.cli", *args], capture_output=True, text=True, timeout=timeout)


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> set[int]:
    out = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.add(int(p.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=90.0, help="seconds of soak")
    ap.add_argument("--clients", type=int, default=4, help="client processes at any time")
    ap.add_argument("--kills", type=int, default=2, help="daemon SIGKILL + restarts (first half)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="boo-soak-", dir="/tmp"))
    endpoint = f"ipc://{work}/daemon.sock"
    env_cache = str(work / "cache")
    start_args = ("start", "--endpoint", endpoint, "--cache-dir", env_cache, "--workers", "1",
                  "--sweep-interval", "1")
    spawned: set[int] = set()  # every pid we started or saw under a daemon
    daemons: list[int] = []

    def start_daemon() -> int:
        p = cli(*start_args)
        if p.returncode != 0:
            raise SystemExit(f"daemon start failed: {p.stderr}")
        info = json.loads(Path(f"{work}/daemon.sock.pid").read_text())
        daemons.append(info["pid"])
        spawned.add(info["pid"])
        return info["pid"]

    pid = start_daemon()
    from boo_shim.client import BooClient

    with BooClient(endpoint, timeout_s=60, compile_timeout_s=600) as c:
        for s in SIGS:
            c.compile(s)

    stats_dir = work / "stats"
    stats_dir.mkdir()
    clients: dict[int, subprocess.Popen] = {}
    seq = 0
    crashes = 0

    def spawn():
        nonlocal seq
        seq += 1
        p = subprocess.Popen([PY, "-c", CLIENT, endpoint, json.dumps(SIGS), str(seq), str(stats_dir / f"{seq}.json")],
                             stdout=subprocess.DEVNULL, stderr=open(work / f"client-{seq}.err", "w"))
        clients[seq] = p
        spawned.add(p.pid)

    for _ in range(args.clients):
        spawn()
    t0 = time.monotonic()
    kill_at = [t0 + args.duration * 0.5 * (i + 1) / (args.kills + 1) for i in range(args.kills)]
    warm_rss = None
    warm_at = None
    while time.monotonic() - t0 < args.duration:
        time.sleep(0.5)
        for k, p in list(clients.items()):
            if p.poll() is not None:
                crashes += 1
                del clients[k]
                spawn()
        spawned |= children(pid)
        if kill_at and time.monotonic() >= kill_at[0]:
            kill_at.pop(0)
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
            pid = start_daemon()
            warm_rss, warm_at = None, None
        if warm_rss is None and not kill_at and time.monotonic() - t0 > args.duration * 0.5 + 10:
            warm_rss, warm_at = rss(pid), time.monotonic() - t0
    end_rss = rss(pid)
    spawned |= children(pid)
    for p in clients.values():
        p.send_signal(signal.SIGTERM)
    for p in clients.values():
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    time.sleep(2.5)  # two sweeps: segments of the clients we just ended
    with BooClient(endpoint, timeout_s=30) as c:
        st = c.stats()
    stop = cli("stop", "--endpoint", endpoint)
    totals = {"served": 0, "wrong": 0, "lost": 0, "bad": 0}
    for f in stats_dir.glob("*.json"):
        d = json.loads(f.read_text())
        for k in totals:
            totals[k] += d[k]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in spawned):
        time.sleep(0.2)
    left = sorted(p for p in spawned if alive(p))
    ours = [n for n in os.listdir("/dev/shm") if n.startswith("boo-") and
            any(n.startswith(f"boo-{p}-") for p in spawned)]
    report = {
        "duration_s": args.duration, "clients": args.clients, "calls_served": totals["served"],
        "wrong": totals["wrong"], "lost": totals["lost"], "bad_messages_answered": totals["bad"],
        "client_crashes": crashes, "daemon_kills": len(daemons) - 1,
        "daemon_rss_warm_mib": round((warm_rss or 0) / 2**20, 1), "rss_warm_at_s": round(warm_at or 0, 1),
        "daemon_rss_end_mib": round(end_rss / 2**20, 1), "daemon_bad_messages": st["bad_messages"],
        "daemon_shm_attached_end": st["shm_attached"], "dev_shm_ours_end": len(ours),
        "processes_left": len(left), "stop": stop.returncode,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for k, v in report.items():
            print(f"{k:<26} {v}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if not (report["wrong"] or report["lost"] or left or ours) else 1


if __name__ == "__main__":
    sys.exit(main())
