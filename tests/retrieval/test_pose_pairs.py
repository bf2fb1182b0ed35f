"""Distance and sequence pairs against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapturelike.core.pose import camera_centers, viewing_directions
from kapturelike.retrieval.pose_pairs import (
    DistancePairsOptions,
    distance_pairs,
    distance_pairs_named,
    sequence_pairs,
)


def brute_distance(qc, qd, mc, md, o: DistancePairsOptions, exclude=None):
    rows = []
    for i in range(len(qc)):
        cand = []
        for j in range(len(mc)):
            if exclude is not None and exclude[i] == j:
                continue
            d = float(np.linalg.norm(qc[i] - mc[j]))
            a = 0.0
            if qd is not None:
                c = qd[i] @ md[j] / np.linalg.norm(qd[i]) / np.linalg.norm(md[j])
                a = float(np.degrees(np.arccos(np.clip(c, -1, 1))))
            if o.min_distance <= d <= o.max_distance and a <= o.max_angle:
                cand.append((-(2 - d / o.max_distance - a / o.max_angle), j))
        cand.sort()
        rows += [(i, j, -s) for s, j in cand[:o.topk]]
    return rows


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 25), st.integers(1, 25), st.sampled_from([None, 1, 3]),
       st.booleans(), st.integers(1, 7))
def test_distance_pairs_brute_force(seed, n_q, n_m, topk, with_dirs, block):
    rng = np.random.default_rng(seed)
    # integer grid positions give exact ties and zero distances
    qc = rng.integers(0, 4, size=(n_q, 3)).astype(float)
    mc = rng.integers(0, 4, size=(n_m, 3)).astype(float)
    qd = rng.normal(size=(n_q, 3)) if with_dirs else None
    md = rng.normal(size=(n_m, 3)) if with_dirs else None
    exclude = rng.integers(-1, n_m, size=n_q)
    o = DistancePairsOptions(max_distance=2.5, min_distance=0.5 * (seed % 2), max_angle=100.0, topk=topk,
                             query_block=block)
    qi, mi, score = distance_pairs(qc, qd, mc, md, o, exclude)
    expected = brute_distance(qc, qd, mc, md, o, exclude)
    assert list(zip(qi.tolist(), mi.tolist())) == [(i, j) for i, j, _ in expected]
    np.testing.assert_allclose(score, [s for _, _, s in expected], rtol=1e-9, atol=1e-9)


def test_distance_pairs_named_from_poses():
    # three cameras on the x axis looking along +z, one looking back
    q = np.array([[1.0, 0, 0, 0]] * 3 + [[0.0, 1, 0, 0]])
    t = -np.array([[0.0, 0, 0], [1, 0, 0], [5, 0, 0], [0.5, 0, 0]])
    t[3] = -(np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]]) @ np.array([0.5, 0, 0]))
    centers, dirs = camera_centers(q, t), viewing_directions(q)
    np.testing.assert_allclose(centers[:, 0], [0, 1, 5, 0.5], atol=1e-12)
    names = ["a", "b", "c", "d"]
    pairs = distance_pairs_named(names, centers, dirs, names, centers, dirs,
                                 DistancePairsOptions(max_distance=2.0, max_angle=30.0))
    assert [(p, m) for p, m, _ in pairs] == [("a", "b"), ("b", "a")]
    assert pairs[0][2] == pytest.approx(2 - 1 / 2.0)
    with pytest.raises(ValueError, match="max_distance"):
        DistancePairsOptions(max_distance=np.inf)
    with pytest.raises(ValueError, match="both"):
        distance_pairs(centers, dirs, centers, None)
    with pytest.raises(ValueError, match="NaN"):
        distance_pairs(np.full((1, 3), np.nan), None, centers, None)


def brute_sequence(names, ts, sensors, window, max_interval):
    out = []
    by_sensor = {}
    for n, t, s in sorted(zip(names, ts, sensors), key=lambda x: (x[2], x[1])):
        by_sensor.setdefault(s, []).append((t, n))
    for seq in by_sensor.values():
        chunks, cur = [], [seq[0]]
        for prev, item in zip(seq, seq[1:]):
            if max_interval is not None and item[0] - prev[0] > max_interval:
                chunks.append(cur)
                cur = []
            cur.append(item)
        chunks.append(cur)
        for chunk in chunks:
            for i in range(len(chunk)):
                for j in range(len(chunk)):
                    if i != j and abs(i - j) <= window:
                        out.append((chunk[i][1], chunk[j][1], 1 - abs(i - j) / window))
    return sorted(out, key=lambda p: (p[0], -p[2], p[1]))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 30), st.integers(1, 5), st.sampled_from([None, 2, 5]))
def test_sequence_pairs_brute_force(seed, n, window, max_interval):
    rng = np.random.default_rng(seed)
    sensors = rng.choice(["cam0", "cam1"], size=n).tolist()
    ts = rng.permutation(n * 3)[:n].astype(np.int64)
    names = [f"img{v:03d}" for v in rng.permutation(1000)[:n]]
    got = sequence_pairs(names, ts, sensors, window, max_interval)
    expected = brute_sequence(names, ts.tolist(), sensors, window, max_interval)
    assert [(a, b) for a, b, _ in got] == [(a, b) for a, b, _ in expected]
    np.testing.assert_allclose([s for *_, s in got], [s for *_, s in expected])


def test_sequence_pairs_errors():
    assert sequence_pairs(["a"], np.array([0]), ["c"], 2) == []
    with pytest.raises(ValueError, match="window"):
        sequence_pairs(["a", "b"], np.array([0, 1]), ["c", "c"], 0)
    with pytest.raises(ValueError, match="unique"):
        sequence_pairs(["a", "a"], np.array([0, 1]), ["c", "c"], 1)
    with pytest.raises(ValueError, match="timestamps"):
        sequence_pairs(["a", "b"], np.array([0]), ["c", "c"], 1)


def test_sequence_pairs_loop_and_expand_window():
    """kapture-localization's variants on one sequence of five frames, window 2 (worked out by hand)."""
    names = ["f0", "f1", "f2", "f3", "f4"]
    ts, sensors = np.arange(5) * 10, ["c"] * 5
    loop = {(a, b): s for a, b, s in sequence_pairs(names, ts, sensors, 2, loop=True)}
    assert {b: s for (a, b), s in loop.items() if a == "f0"} == {"f1": 0.5, "f4": 0.5, "f2": 0.0, "f3": 0.0}
    assert len(loop) == 20
    short = sequence_pairs(["a", "b"], np.array([0, 1]), ["c", "c"], 3, loop=True)
    assert short == [("a", "b", pytest.approx(2 / 3)), ("b", "a", pytest.approx(2 / 3))]  # met once, closest
    expand = {(a, b): s for a, b, s in sequence_pairs(names, ts, sensors, 2, expand_window=True)}
    assert {b: s for (a, b), s in expand.items() if a == "f0"} == pytest.approx(
        {"f1": 0.75, "f2": 0.5, "f3": 0.25, "f4": 0.0})
    assert {b: s for (a, b), s in expand.items() if a == "f1"} == pytest.approx(
        {"f2": 2 / 3, "f3": 1 / 3, "f4": 0.0, "f0": 0.0})
    assert {b: s for (a, b), s in expand.items() if a == "f2"} == pytest.approx(
        {"f3": 0.5, "f1": 0.5, "f4": 0.0, "f0": 0.0})
    with pytest.raises(ValueError, match="exclude"):
        sequence_pairs(names, ts, sensors, 2, loop=True, expand_window=True)


def test_distance_pairs_keep_rejected():
    """Every map image pairs, those beyond the limits too, with distance and angle clipped in the score."""
    centers = np.array([[0.0, 0, 0], [1.0, 0, 0], [30.0, 0, 0]])
    dirs = np.array([[0.0, 0, 1], [0.0, 0, 1], [1.0, 0, 0]])
    kept = distance_pairs(centers[:1], dirs[:1], centers[1:], dirs[1:], DistancePairsOptions(keep_rejected=True))
    assert kept[1].tolist() == [0, 1]
    np.testing.assert_allclose(kept[2], [2 - 1 / 25, 2 - (1 + 1)])
    strict = distance_pairs(centers[:1], dirs[:1], centers[1:], dirs[1:], DistancePairsOptions())
    assert strict[1].tolist() == [0]
    top1 = distance_pairs(centers[:1], dirs[:1], centers[1:], dirs[1:],
                          DistancePairsOptions(keep_rejected=True, topk=1))
    assert top1[1].tolist() == [0]
    with pytest.raises(ValueError, match="exclude"):
        DistancePairsOptions(keep_rejected=True, min_distance=1.0)
