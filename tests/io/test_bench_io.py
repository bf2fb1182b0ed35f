"""benchmarks/bench_io.py runs end to end on small files: kapturelike and kapture read the same values
and write the same bytes for each table it times (the script raises otherwise)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_io.py"


def test_bench_io_agrees_with_kapture(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("kapture")
    spec = importlib.util.spec_from_file_location("bench_io", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--lines", "3000"])
    table = capsys.readouterr().out.splitlines()
    steps = [line.split()[0] + " " + line.split()[1] for line in table[2:]]
    assert steps == [f"{step} {name}" for name in ("trajectories", "records_camera", "records_gnss", "points3d")
                     for step in ("read", "write")]
    assert all(line.rstrip().endswith("x") for line in table[2:])  # kapture timed beside each step
