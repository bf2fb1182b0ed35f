"""Bad input gives one short error line naming the file (and line and field), never a traceback,
never a hang; kapture_check lists every problem, OS-level ones included, and goes on."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from kapturelike.errors import FormatError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.reconstruction import read_observations
from kapturelike.tools import kapture_check, kapture_print
from kapturelike.tools.cli import run

V = "# kapture format: 1.1\n"
SENSORS = V + "# sensor_id, name, sensor_type, [sensor_params]+\ncam, , camera, PINHOLE, 8, 6, 5, 5, 4, 3\n"
FUZZ = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_readers.py"


@pytest.fixture(autouse=True)
def no_hang():
    """A read that blocks (a FIFO opened for reading) fails the test instead of hanging the suite."""
    def fail(signum, frame):
        raise AssertionError("blocked for 20 s")
    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _dataset(root: Path) -> Path:
    (root / "sensors").mkdir(parents=True)
    (root / "sensors" / "sensors.txt").write_text(SENSORS)
    (root / "sensors" / "records_camera.txt").write_text(V + "0, cam, a.png\n1, cam, b.png\n")
    (root / "sensors" / "trajectories.txt").write_text(V + "0, cam, 1, 0, 0, 0, 0, 0, 0\n")
    store = KaptureFeatureStore(root)
    from kapturelike.core.reconstruction import FeatureType
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    store.write("keypoints", "sift", "a.png", np.zeros((3, 2), np.float32))
    store.write("keypoints", "sift", "b.png", np.zeros((3, 2), np.float32))
    store.write_matches("sift", "a.png", "b.png", np.array([[0, 1], [2, 2]]))
    (root / "reconstruction" / "points3d.txt").write_text(V + "# X, Y, Z\n0, 0, 1\n")
    (root / "reconstruction" / "observations.txt").write_text(V + "0, sift, a.png, 1\n")
    return root


@pytest.mark.parametrize("row, field", [(f"{2 ** 70}, sift, a.png, 1", "point3d_id"),
                                        (f"0, sift, a.png, {2 ** 64}", "feature_id"),
                                        (f"-{2 ** 63 + 1}, sift, a.png, 1", "point3d_id")])
def test_observation_ids_beyond_64_bits(tmp_path: Path, row: str, field: str, capsys) -> None:
    root = _dataset(tmp_path / "ds")
    path = root / "reconstruction" / "observations.txt"
    path.write_text(V + "0, sift, a.png, 1\n" + row + "\n")
    with pytest.raises(FormatError, match="64 bits") as info:
        read_observations(path)
    assert info.value.line == 3 and info.value.field == field
    assert kapture_check.main(["-i", str(root)]) == 1
    out = capsys.readouterr()
    assert f"line 3, field '{field}'" in out.out and "internal" not in out.err


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 2.5, 1e300, -1.0])
def test_bad_match_index_is_a_problem(tmp_path: Path, value: float, capsys) -> None:
    root = _dataset(tmp_path / "ds")
    path = KaptureFeatureStore(root).matches_path("sift", "a.png", "b.png")
    np.array([[0, 1, 1], [value, 2, 1]], dtype=np.float64).tofile(path)
    assert kapture_check.main(["-i", str(root)]) == 1
    out = capsys.readouterr()
    assert "field 'idx1'" in out.out and "keypoint index" in out.out and out.err == "", out


@pytest.mark.parametrize("part", ["sensors/trajectories.txt", "reconstruction/points3d.txt",
                                  "sensors/records_camera.txt", "reconstruction/keypoints/sift/keypoints.txt",
                                  "reconstruction/keypoints/sift/a.png.kpt",
                                  "reconstruction/matches/sift/a.png.overlapping/b.png.matches"])
@pytest.mark.parametrize("replace", ["directory", "fifo", "loop"])
def test_directory_fifo_or_loop_where_a_file_should_be(tmp_path: Path, part: str, replace: str, capsys) -> None:
    root = _dataset(tmp_path / "ds")
    path = root / part
    path.unlink()
    if replace == "directory":
        path.mkdir()
    elif replace == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(path.name)
    (root / "reconstruction" / "observations.txt").write_text(V + "0, sift, a.png, x\n")  # a second problem
    assert kapture_check.main(["-i", str(root)]) == 1
    out = capsys.readouterr().out
    problems = out.splitlines()[:-1]
    assert any(str(path) in p and ("where a file should be" in p or "cannot read" in p) for p in problems), out
    assert any("observations.txt, line 2" in p for p in problems), out  # listing went on
    code = kapture_print.main(["-i", str(root)])
    captured = capsys.readouterr()
    if part.endswith(("trajectories.txt", "points3d.txt", "records_camera.txt", "keypoints.txt")):
        assert code == 1 and str(path) in captured.err and captured.err.count("\n") == 1, captured
    assert "internal" not in captured.err and "poses: none" not in captured.out


def test_error_lines_stay_short(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path / "ds")
    huge = "9" * (2 << 20)
    (root / "sensors" / "trajectories.txt").write_text(V + f"0, cam, 1, 0, 0, 0, {huge}x, 0, 0\n")
    assert kapture_check.main(["-i", str(root)]) == 1
    out = capsys.readouterr().out
    assert "trajectories.txt, line 2, field 'tx'" in out and max(len(line) for line in out.splitlines()) < 300


def test_front_end_prints_any_error_class_in_one_line(capsys) -> None:
    parser = argparse.ArgumentParser()
    for error in (OverflowError("int too large\nto convert"), KeyError("x"), RecursionError(), TypeError("t")):
        def action(args, error=error):
            raise error
        assert run(parser, action, []) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: internal error") and "Traceback" not in err


def test_fuzz_a_few_hundred_cases(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("fuzz_readers", FUZZ)
    fuzz = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = fuzz  # its dataclasses look their module up
    spec.loader.exec_module(fuzz)
    signal.alarm(0)  # the fuzzer times each case itself
    counts, bad = fuzz.fuzz(300, seed=1, timeout=10.0, work=tmp_path)
    assert bad == [] and counts["traceback"] == counts["hang"] == 0
    assert counts["clean error"] > 100 and counts["accepted"] > 10  # both kinds of outcome are exercised


def test_warnings_quoting_huge_values_stay_short(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path / "ds")
    (root / "sensors" / "records_camera.txt").write_text(V + "0, cam, a.png\n1, " + "x" * 100_000 + ", b.png\n")
    kapture_print.main(["-i", str(root)])
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert any("line 3, field 'device_id'" in line for line in lines), lines
    assert max(len(line) for line in lines) < 400
