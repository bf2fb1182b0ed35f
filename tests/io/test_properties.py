"""Property tests of the text parsers: random valid tables round-trip exactly; junk lines only ever
raise FormatError (never IndexError, KeyError, ...)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapturelike.core.reconstruction import Observations
from kapturelike.core.records import RECORD_KINDS, Records
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, Camera, Sensor
from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.reconstruction import read_observations, read_points3d, write_observations, write_points3d
from kapturelike.io.records import read_records, write_records
from kapturelike.io.sensors import read_rigs, read_sensors, write_sensors
from kapturelike.io.text import data_rows, split_lines
from kapturelike.io.trajectories import read_trajectories, write_trajectories

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = st.sampled_from(list("abcXYZ019_-./ éß漢"))
ids = st.text(ALPHABET, min_size=1, max_size=12).map(str.strip).filter(lambda s: s and s[0] != "#")
timestamps = st.integers(0, 2**62)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12)


def _tmp() -> Path:
    return Path(tempfile.mkdtemp()) / "f.txt"


@st.composite
def trajectories(draw) -> Trajectories:
    keys = draw(st.lists(st.tuples(timestamps, ids), unique=True, max_size=20))
    n = len(keys)
    q = np.array(draw(st.lists(st.lists(st.floats(-1, 1, allow_nan=False), min_size=4, max_size=4),
                               min_size=n, max_size=n))).reshape(n, 4)
    q[np.linalg.norm(q, axis=1) < 1e-3] = [1, 0, 0, 0]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t = np.array(draw(st.lists(st.lists(finite, min_size=3, max_size=3), min_size=n, max_size=n)))
    t = t.reshape(n, 3)
    missing = np.array(draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)), dtype=int)
    q[missing == 1], t[missing == 2] = np.nan, np.nan
    return Trajectories(np.array([k[0] for k in keys], dtype=np.int64),
                        np.array([k[1] for k in keys], dtype=object), q, t)


@SETTINGS
@given(trajectories())
def test_trajectories_round_trip(traj: Trajectories) -> None:
    path = _tmp()
    write_trajectories(path, traj)
    assert read_trajectories(path) == traj


@st.composite
def cameras(draw) -> Camera:
    model = draw(st.sampled_from(sorted(CAMERA_MODEL_PARAMS)))
    params = draw(st.lists(finite, min_size=len(CAMERA_MODEL_PARAMS[model]),
                           max_size=len(CAMERA_MODEL_PARAMS[model])))
    return Camera(model, draw(st.integers(0, 10000)), draw(st.integers(0, 10000)), tuple(params),
                  draw(st.one_of(st.just(""), ids)), draw(st.sampled_from(["camera", "depth"])))


sensors_st = st.dictionaries(ids, st.one_of(cameras(), st.builds(
    Sensor, st.sampled_from(["wifi", "gnss", "lidar"]), st.lists(ids, max_size=3).map(tuple),
    st.one_of(st.just(""), ids))), max_size=8)


@SETTINGS
@given(sensors_st)
def test_sensors_round_trip(sensors: dict) -> None:
    path = _tmp()
    write_sensors(path, sensors)
    assert read_sensors(path)[1] == sensors


_VALUE = {str: ids, int: st.integers(-2**62, 2**62), float: finite}


@st.composite
def records(draw) -> Records:
    kind = draw(st.sampled_from(sorted(RECORD_KINDS)))
    spec = RECORD_KINDS[kind]
    keys = draw(st.lists(st.tuples(timestamps, ids), unique=True, max_size=15))
    values = [tuple(draw(_VALUE[typ]) for _, typ in spec.fields) for _ in keys]
    return Records(kind, [k[0] for k in keys], [k[1] for k in keys], values)


@SETTINGS
@given(records())
def test_records_round_trip(recs: Records) -> None:
    path = _tmp()
    write_records(path, recs)
    assert read_records(path, recs.kind) == recs


@SETTINGS
@given(st.integers(0, 30), st.booleans(), st.data())
def test_points3d_round_trip(n: int, colours: bool, data) -> None:
    width = 6 if colours else 3
    values = data.draw(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=n * width,
                                max_size=n * width))
    points = np.round(np.array(values, dtype=np.float64).reshape(n, width), 10)  # 10 decimals, as kapture
    path = _tmp()
    write_points3d(path, points)
    got = read_points3d(path)
    assert got.shape == (n, width)
    np.testing.assert_allclose(got, points, rtol=0, atol=1e-9)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 1000), ids, ids, st.integers(0, 10**6)), max_size=20))
def test_observations_round_trip(rows: list) -> None:
    obs = Observations.from_lists(rows)
    path = _tmp()
    write_observations(path, obs)
    assert read_observations(path) == obs


junk_lines = st.lists(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"),
                              max_size=60), min_size=1, max_size=5)
VALID = {
    "trajectories": "0, cam, 1, 0, 0, 0, 1, 2, 3",
    "rigs": "rig, cam, 1, 0, 0, 0, 1, 2, 3",
    "sensors": "cam, name, camera, SIMPLE_PINHOLE, 10, 10, 5, 5, 5",
    "points3d": "1, 2, 3",
    "observations": "0, sift, a.jpg, 1",
    "records_wifi": "0, w, aa, 2400, -50.0, ssid, 1, 2",
    "records_camera": "0, cam, a.jpg",
}
READERS = {"trajectories": read_trajectories, "rigs": read_rigs, "sensors": read_sensors,
           "points3d": read_points3d, "observations": read_observations,
           "records_wifi": lambda p, on_error=None: read_records(p, "wifi", on_error),
           "records_camera": lambda p, on_error=None: read_records(p, "camera", on_error)}


@pytest.mark.parametrize("table", sorted(VALID))
@SETTINGS
@given(junk=junk_lines, data=st.data())
def test_junk_gives_format_error_only(table: str, junk: list[str], data) -> None:
    position = data.draw(st.integers(0, 2))
    lines = ["# kapture format: 1.1", VALID[table], VALID[table]]
    lines[position + 1:position + 1] = junk
    path = _tmp()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        READERS[table](path)
    except FormatError as e:
        assert str(path) in str(e)
    # with a collector, a bad line is reported (with its line number) and reading goes on
    problems: list = []
    READERS[table](path, on_error=problems.append)
    assert all(isinstance(p, FormatError) and p.line is not None for p in problems)


PADDING = st.sampled_from(["", " ", "  ", "\t", "\xa0", "\u2003", "\x1f"])
PLAIN = st.text(st.sampled_from(list("ab/é.9 ")), min_size=1, max_size=6).filter(lambda s: s.strip() == s)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 10**12), PLAIN, PLAIN, PADDING, PADDING, PADDING), max_size=12),
       st.lists(st.sampled_from(["", "# comment", "   "]), max_size=2), st.integers(0, 12))
def test_fast_table_parser_matches_line_parser(rows: list, extra: list[str], at: int) -> None:
    """Whatever the padding, comments and blank lines, records read as the per-line parser reads them."""
    lines = [f"{p1}{ts}{p2},{p3}{dev}{p1}, {path}{p2}" for ts, dev, path, p1, p2, p3 in rows]
    lines[min(at, len(lines)):min(at, len(lines))] = extra
    text = "# kapture format: 1.1\n# timestamp, device_id, image_path\n" + "\n".join(lines) + "\n"
    path = _tmp()
    path.write_text(text, encoding="utf-8")
    expected = [(int(f[0]), f[1], f[2]) for _, f in data_rows(split_lines(text))]
    got = read_records(path, "camera")
    assert list(zip(got.timestamps.tolist(), got.device_ids.tolist(), got.paths)) == expected
    traj_lines = [f"{p1}{ts}{p2},{p3}{dev}{p1}, 1{p2},0, 0,0 ,{p3}1, 2,3" for ts, dev, _, p1, p2, p3 in rows]
    path.write_text("# kapture format: 1.1\n" + "\n".join(traj_lines) + "\n", encoding="utf-8")
    traj = read_trajectories(path)
    text = path.read_text(encoding="utf-8")
    assert traj.keys() == [(int(f[0]), f[1]) for _, f in data_rows(split_lines(text))]
    assert np.array_equal(traj.translations, np.tile([1.0, 2, 3], (len(traj), 1)))
