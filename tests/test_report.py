"""boo-report on a CSV from a real (tiny) boo-driver run."""

import csv
import os
import subprocess
import sys

import pytest

from boo_shim.report import load_rows, main

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def driver_csv(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    out = d / "run.csv"
    env = dict(os.environ, BOO_CACHE_DIR=str(d / "cache"))
    r = subprocess.run(
        [sys.executable, "-m", "boo_shim.driver", "--backend", "iree", "--backend", "torch", "--csv", str(out),
         "conv", "-n", "1", "-c", "4", "-H", "6", "-W", "6", "-k", "4", "-y", "3", "-x", "3", "-p", "1", "-q", "1",
         "-F", "0", "-t", "1", "-i", "3"],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_report_from_real_driver_csv(driver_csv, tmp_path, capsys):
    rows, backends = load_rows([driver_csv])
    assert backends == ["iree", "torch"]
    assert [r.direction for r in rows] == ["fwd", "bwd", "wrw"]
    assert rows[0].label.startswith("conv_2d_f32_fwd_")

    rc = main([str(driver_csv), "-o", str(tmp_path / "rep")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "geomean speedup" in out
    rep = tmp_path / "rep"
    for name in ("scatter.png", "ratio_by_direction.png", "report.png"):
        assert (rep / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (rep / "report.md").read_text()
    assert "| # | signature | dir | dtype | GFLOP | iree min µs | torch min µs |" in md
    assert md.count("conv_2d_f32_") == 3
    page = (rep / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "<table>" in page
    assert main([str(driver_csv), "-o", str(tmp_path / "linked"), "--link-images"]) == 0
    assert '<img alt="report" src="report.png">' in (tmp_path / "linked" / "index.html").read_text()


def test_merges_csvs_of_separate_backends(driver_csv, tmp_path):
    # Split the run into one CSV per backend, as two machines would write them; the report joins them.
    with open(driver_csv, newline="") as f:
        recs = list(csv.DictReader(f))
    common = ["command", "direction", "dtype", "flops"]
    for b in ("iree", "torch"):
        cols = common + [c for c in recs[0] if c.startswith(b + "_")]
        with open(tmp_path / f"{b}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(recs)
    rows, backends = load_rows([tmp_path / "iree.csv", tmp_path / "torch.csv"])
    assert len(rows) == 3 and set(backends) == {"iree", "torch"}
    assert all(r.speedup("iree", "torch") for r in rows)
    assert main([str(tmp_path / "torch.csv"), "-o", str(tmp_path / "x")]) == 2  # one backend: nothing to compare
