"""boo-driver: output format, verification lines, CSV, exit codes, cache reuse."""

import csv
import os
import re
import subprocess
import sys

LINE = "conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 1 -t 1 -i 5"


def driver(*args, cache):
    env = dict(os.environ, BOO_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "boo_shim.driver", *args], capture_output=True, text=True, env=env)


def test_single_command_seed_format(tmp_path):
    r = driver(*LINE.split(), cache=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout.splitlines()
    assert out[0] == LINE
    assert out[1] == ">>> tensor([...], device='cpu', size=(1, 4, 6, 6), dtype=torch.float32)"
    assert re.fullmatch(r">>> min=[\d.]+us max=[\d.]+us mean=[\d.]+us stddev=[\d.]+us", out[2])
    assert out[3].startswith("Forward Convolution Verifies OK")
    assert "Traceback" not in r.stderr


def test_commands_file_two_backends_csv_and_failures(tmp_path):
    cmds = tmp_path / "cmds.txt"
    cmds.write_text(
        "# a comment\n"
        "conv -n 1 -c 4 -H 6 -W 6 -k 4 -y 3 -x 3 -p 1 -q 1 -F 3\n"
        "conv -n 1 -c 7 -g 2 -F 1\n"                      # invalid: groups
        "convbfp16 -n 1 -c 4 -H 5 -W 5 -k 4 -y 1 -x 1 -F 4 --in_layout NHWC --fil_layout NHWC --out_layout NHWC\n"
        "conv --frobnicate 1\n"                          # unknown flag
    )
    out_csv = tmp_path / "r.csv"
    r = driver("--commands-file", str(cmds), "--backend", "iree", "--backend", "torch", "--csv", str(out_csv),
               "-t", "1", "-i", "3", cache=tmp_path / "c")
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert "FAILED: --group_count: 2 groups do not divide the 7 input channels" in r.stdout
    assert "FAILED: --frobnicate: unknown MIOpenDriver conv flag" in r.stdout
    assert r.stdout.count(">>> iree: min=") == 3 and r.stdout.count(">>> torch: min=") == 3
    assert "Backward Convolution Data Verifies OK" in r.stdout
    assert "Backward Convolution Weights Verifies OK" in r.stdout
    assert "2/4 commands OK" in r.stderr
    rows = list(csv.DictReader(out_csv.open()))
    assert [row["direction"] for row in rows] == ["fwd", "bwd", "wrw"]
    for row in rows:
        assert row["iree_verify"] == "OK" and row["torch_verify"] == "OK"
        assert float(row["iree_min_us"]) <= float(row["iree_mean_us"])
        assert float(row["torch_mean_us"]) > 0


def test_second_run_compiles_nothing(tmp_path):
    first = driver(*LINE.split(), "--verbose", cache=tmp_path)
    assert "[boo] compiled" in first.stderr
    second = driver(*LINE.split(), "--verbose", cache=tmp_path)
    assert "[boo] compiled" not in second.stderr and "[boo] cache hit" in second.stderr


def test_usage_and_bad_options(tmp_path):
    assert driver(cache=tmp_path).returncode == 2
    r = driver("--backend", "cudnn", *LINE.split(), cache=tmp_path)
    assert r.returncode == 2 and "--backend" in r.stderr
    r = driver("--target", "tpu", *LINE.split(), cache=tmp_path)
    assert r.returncode == 1 and "unknown target" in r.stdout
