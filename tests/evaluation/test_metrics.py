import json
import math

import numpy as np
import pytest

from kapturelike.core import pose as P
from kapturelike.evaluation.metrics import DEFAULT_THRESHOLDS, evaluate, evaluate_named
from kapturelike.evaluation.report import format_table, to_dict, write_json

# (centre offset in metres, rotation error in degrees) per query; None = failed
CASES = [(0.1, 1.0), (0.3, 1.0), (0.3, 6.0), (6.0, 1.0), None]


def hand_made():
    rng = np.random.default_rng(0)
    q_gt = P.normalize_quaternions(rng.normal(size=(5, 4)))
    c_gt = rng.normal(size=(5, 3)) * 10
    t_gt = P.poses_from_centers(q_gt, c_gt)
    q_est, t_est = np.full((5, 4), np.nan), np.full((5, 3), np.nan)
    for i, case in enumerate(CASES):
        if case is None:
            continue
        d, deg = case
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        q_est[i] = P.quat_multiply(P.quat_from_axis_angle(axis * np.radians(deg)), q_gt[i])
        direction = rng.normal(size=3)
        t_est[i] = P.poses_from_centers(q_est[i], c_gt[i] + d * direction / np.linalg.norm(direction))
    return q_est, t_est, q_gt, t_gt


def test_hand_made_numbers():
    res = evaluate(*hand_made(), names=[f"q{i}.jpg" for i in range(5)])
    assert np.allclose(res.translation_errors[:4], [0.1, 0.3, 0.3, 6.0])
    assert np.allclose(res.rotation_errors[:4], [1.0, 1.0, 6.0, 1.0])
    assert math.isinf(res.translation_errors[4]) and math.isinf(res.rotation_errors[4])
    assert res.thresholds == list(DEFAULT_THRESHOLDS)
    assert np.allclose(res.overall.percent_within, [20.0, 40.0, 60.0])
    assert res.overall.num_queries == 5 and res.overall.num_localized == 4
    assert np.isclose(res.overall.median_translation, 0.3) and np.isclose(res.overall.median_rotation, 1.0)


def test_groups_custom_thresholds_and_success_flag():
    q_est, t_est, q_gt, t_gt = hand_made()
    success = np.array([True, True, True, True, True])
    success[0] = False  # a pose reported as failed does not count even if present
    res = evaluate(q_est, t_est, q_gt, t_gt, success=success, groups=["day", "day", "night", "night", "night"],
                   thresholds=[(1.0, 10.0)])
    assert np.allclose(res.overall.percent_within, [40.0])
    assert res.groups["day"].num_queries == 2 and np.allclose(res.groups["day"].percent_within, [50.0])
    assert np.allclose(res.groups["night"].percent_within, [100.0 / 3])
    assert res.groups["night"].num_localized == 2
    assert np.isclose(res.groups["night"].median_translation, (0.3 + 6.0) / 2)
    assert math.isnan(evaluate(q_est[4:], t_est[4:], q_gt[4:], t_gt[4:]).overall.median_translation)


def test_table_and_json(tmp_path):
    res = evaluate(*hand_made(), groups=["a", "a", "b", "b", "b"])
    table = format_table(res)
    lines = table.splitlines()
    assert len(lines) == 2 + 3 and "(0.25m,2deg)" in lines[0]
    assert lines[2].split()[:6] == ["all", "5", "4", "20.0%", "40.0%", "60.0%"]
    assert lines[4].split()[0] == "b"
    path = tmp_path / "sub" / "eval.json"
    write_json(res, path)
    data = json.loads(path.read_text())
    assert data == json.loads(json.dumps(to_dict(res)))
    assert data["overall"]["percent_within"] == pytest.approx([20.0, 40.0, 60.0])
    assert data["queries"][4] == {"name": "4", "translation_error": None, "rotation_error": None, "group": "b"}
    assert data["groups"]["a"]["num_queries"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["eval.json"]  # no temp file left


def test_bad_input():
    q_est, t_est, q_gt, t_gt = hand_made()
    with pytest.raises(ValueError, match="t_est has 4 rows"):
        evaluate(q_est, t_est[:4], q_gt, t_gt)
    with pytest.raises(ValueError, match="groups has 2 labels"):
        evaluate(q_est, t_est, q_gt, t_gt, groups=["a", "b"])
    t_bad = t_gt.copy()
    t_bad[3] = np.nan
    with pytest.raises(ValueError, match="query 3"):
        evaluate(q_est, t_est, q_gt, t_bad)
    with pytest.raises(ValueError, match="threshold 0"):
        evaluate(q_est, t_est, q_gt, t_gt, thresholds=[(1.0,)])


def test_evaluate_named_missing_estimates_fail():
    q_est, t_est, q_gt, t_gt = hand_made()
    gt = {f"q{i}.jpg": (q_gt[i], t_gt[i]) for i in range(5)}
    est = {f"q{i}.jpg": (q_est[i], t_est[i]) for i in range(3)}  # q3 missing, q4 absent
    est["q4.jpg"] = (None, None)
    est["extra.jpg"] = (q_gt[0], t_gt[0])  # no ground truth: ignored
    res = evaluate_named(est, gt, groups={n: "x" for n in gt})
    assert res.names == [f"q{i}.jpg" for i in range(5)]
    assert res.overall.num_localized == 3 and np.allclose(res.overall.percent_within, [20.0, 40.0, 60.0])
    assert list(res.groups) == ["x"]
    with pytest.raises(ValueError, match="no group label for query 'q0.jpg'"):
        evaluate_named(est, gt, groups={})
