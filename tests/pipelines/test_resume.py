"""Exact resume: the mapping and localization commands killed (SIGKILL) during feature extraction,
matching and the last steps, then resumed, leave every output file byte-identical to an uninterrupted
run; two uninterrupted runs are byte-identical too. Files allowed to differ: the reports of timings
(mapping_report.txt, localization_report.txt) and localization_results.json (per-query seconds)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset

TIMINGS = {"mapping_report.txt", "localization_report.txt", "localization_results.json"}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    options = SyntheticOptions(num_mapping=12, num_sequences=1, sequence_length=2, width=320, height=240, focal=250)
    return write_synthetic_kapture(generate_dataset(options), tmp_path_factory.mktemp("resume"))


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.name not in TIMINGS}


def _command(tool: str, args: list[str]) -> list[str]:
    return [sys.executable, "-m", f"kapturelike.pipeline_tools.{tool}", *args]


def _run_until(command: list[str], reached: Callable[[], bool]) -> bool:
    """Run ``command``, SIGKILL it as soon as ``reached()``; True if it was killed (not finished first)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            if reached():
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    return False


def _count(root: Path, pattern: str) -> int:
    return sum(1 for _ in root.rglob(pattern)) if root.exists() else 0


def test_killed_and_resumed_runs_equal_a_clean_run(scene, tmp_path):
    clean_map, clean_loc = tmp_path / "clean_map", tmp_path / "clean_loc"
    mapping = ["-i", str(scene.mapping)]
    subprocess.run(_command("kapture_pipeline_mapping", [*mapping, "-o", str(clean_map)]), check=True,
                   capture_output=True)
    again = tmp_path / "again_map"
    subprocess.run(_command("kapture_pipeline_mapping", [*mapping, "-o", str(again)]), check=True, capture_output=True)
    assert _digest(again) == _digest(clean_map)  # two clean runs: byte-identical

    killed_map = tmp_path / "map"
    command = _command("kapture_pipeline_mapping", [*mapping, "-o", str(killed_map)])
    kills = [_run_until(command, lambda: _count(killed_map, "*.kpt") >= 3),  # feature extraction
             _run_until(command, lambda: _count(killed_map, "*.matches") >= 10),  # matching
             _run_until(command, lambda: (killed_map / "reconstruction" / "points3d.txt").exists())]  # triangulation
    assert kills[0] and kills[1]
    subprocess.run(command, check=True, capture_output=True)
    assert _digest(killed_map) == _digest(clean_map)
    assert not any(p.name.endswith(".kapturelike-tmp") for p in killed_map.rglob("*"))

    localize = ["-m", str(clean_map), "-q", str(scene.query)]
    subprocess.run(_command("kapture_pipeline_localize", [*localize, "-o", str(clean_loc)]), check=True,
                   capture_output=True)
    killed_loc = tmp_path / "loc"
    command = _command("kapture_pipeline_localize", [*localize, "-o", str(killed_loc)])
    kills = [_run_until(command, lambda: _count(killed_loc, "*.kpt") >= 2),  # feature extraction
             _run_until(command, lambda: _count(killed_loc, "*.matches") >= 5),  # matching
             _run_until(command, lambda: (killed_loc / "localized").exists())]  # pose estimation / writing
    assert kills[0]
    subprocess.run(command, check=True, capture_output=True)
    assert _digest(killed_loc) == _digest(clean_loc)
    poses = {n: (r["status"], r["q"], r["t"]) for n, r in
             json.loads((killed_loc / "localization_results.json").read_text()).items()}
    clean = {n: (r["status"], r["q"], r["t"]) for n, r in
             json.loads((clean_loc / "localization_results.json").read_text()).items()}
    assert poses == clean
