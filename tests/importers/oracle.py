"""The real kapture importers as test oracle, and comparison of two kapture datasets."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.io.dataset import load_kapture


def kapture_tool(name: str) -> ModuleType:
    """kapture's ``tools/<name>.py`` loaded from the installed package (its top-level ``tools`` clashes
    with this repository's ``tools/`` folder, so it is loaded by file under another module name)."""
    kapture = pytest.importorskip("kapture")
    path = Path(kapture.__file__).resolve().parents[1] / "tools" / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"kapture's {name} is not installed")
    spec = importlib.util.spec_from_file_location(f"kapture_oracle_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logging.getLogger().setLevel(logging.WARNING)
    return module


def transfer(name: str):
    """kapture's TransferAction member ``name``."""
    from kapture.io.records import TransferAction
    return TransferAction[name]


def same_rotation(qa: np.ndarray, qb: np.ndarray, atol: float = 1e-9) -> bool:
    """Equal rotations: q and -q are the same rotation."""
    qa, qb = np.atleast_2d(qa), np.atleast_2d(qb)
    sign = np.where(np.sum(qa * qb, axis=1, keepdims=True) < 0, -1.0, 1.0)
    return bool(np.allclose(qa, sign * qb, atol=atol, equal_nan=True))


def kapture_reads(root: Path) -> None:
    """The real kapture reads the dataset we wrote, with as many poses and records as ours."""
    from kapture import flatten
    from kapture.io.csv import kapture_from_dir

    theirs, ours = kapture_from_dir(str(root)), load_kapture(root)
    assert len(list(flatten(theirs.trajectories or {}))) == len(ours.trajectories or ())
    for kind, records in ours.records.items():
        assert len(list(flatten(getattr(theirs, f"records_{kind}") or {}))) == len(records), kind


def assert_same_kapture(ours: Path | Kapture, theirs: Path | Kapture, atol: float = 1e-9) -> None:
    """Same sensors, rigs, poses (up to the quaternion sign, within ``atol``) and records; the real
    kapture reads ours."""
    if isinstance(ours, Path):
        kapture_reads(ours)
    a = ours if isinstance(ours, Kapture) else load_kapture(ours)
    b = theirs if isinstance(theirs, Kapture) else load_kapture(theirs)
    assert set(a.sensors) == set(b.sensors)
    for sid, sa in a.sensors.items():
        sb = b.sensors[sid]
        assert type(sa) is type(sb) and sa.sensor_type == sb.sensor_type, sid
        if isinstance(sa, Camera):
            assert (sa.model, sa.width, sa.height) == (sb.model, sb.width, sb.height), sid
            np.testing.assert_allclose(sa.params, sb.params, atol=atol, err_msg=sid)
        else:
            assert sa.params == sb.params, sid
    assert (a.rigs is None) == (b.rigs is None) or not (a.rigs or b.rigs)
    for rig, sensors in (a.rigs or {}).items():
        assert set(sensors) == set(b.rigs[rig]), rig
        for sid, pose in sensors.items():
            assert same_rotation(pose.q, b.rigs[rig][sid].q, atol), (rig, sid)
            np.testing.assert_allclose(pose.t, b.rigs[rig][sid].t, atol=atol)
    assert (a.trajectories is None) == (b.trajectories is None)
    if a.trajectories is not None:
        ta, tb = a.trajectories.sorted(), b.trajectories.sorted()
        assert ta.keys() == tb.keys()
        assert same_rotation(ta.rotations, tb.rotations, atol)
        np.testing.assert_allclose(ta.translations, tb.translations, atol=atol, equal_nan=True)
    assert set(a.records) == set(b.records)
    for kind, ra in a.records.items():
        rb = b.records[kind]
        assert sorted(zip(ra.keys(), map(str, ra.values))) == sorted(zip(rb.keys(), map(str, rb.values))), kind
