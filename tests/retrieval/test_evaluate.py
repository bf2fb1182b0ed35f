"""Retrieval evaluation on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.retrieval.evaluate import (
    evaluate_label_retrieval,
    evaluate_pose_retrieval,
    format_evaluation,
    pose_relevance_at,
)


def test_pose_hit_rate_hand_made():
    db_c = np.array([[0.0, 0, 0], [10, 0, 0], [0, 1, 0], [50, 0, 0]])
    db_d = np.array([[0.0, 0, 1], [0, 0, 1], [0, 0, -1], [0, 0, 1]])
    q_c = np.array([[0.0, 0.5, 0], [10, 1, 0], [100, 0, 0]])
    q_d = np.array([[0.0, 0, 2], [0, 0, 1], [0, 0, 1]])
    ranked = np.array([[2, 3, 0],    # 2 looks backwards, 3 too far, 0 relevant at rank 3
                       [1, -1, -1],  # relevant at rank 1
                       [0, 1, 2]])   # nothing near
    rel = pose_relevance_at(ranked, q_c, q_d, db_c, db_d, 2.0, 45.0)
    np.testing.assert_array_equal(rel, [[False, False, True], [True, False, False], [False, False, False]])
    ev = evaluate_pose_retrieval(ranked, q_c, q_d, db_c, db_d, max_distance=2.0, max_angle=45.0, ks=(1, 2, 3, 20))
    np.testing.assert_allclose(ev.pose_hit_rate, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert ev.num_queries == 3
    # without directions, db image 2 is close enough for query 0
    ev = evaluate_pose_retrieval(ranked, q_c, None, db_c, None, max_distance=2.0, ks=(1,))
    np.testing.assert_allclose(ev.pose_hit_rate, [2 / 3])
    table = format_evaluation(ev)
    assert "pose hit" in table and "66.7%" in table


def test_label_metrics_hand_made():
    relevant = np.zeros((3, 6), dtype=bool)
    relevant[0, [1, 3]] = True
    relevant[1, [5]] = True
    ranked = np.array([[1, 0, 3, 2], [0, 2, 4, -1], [0, 1, 2, 3]])  # query 2 has no relevant image
    ev = evaluate_label_retrieval(ranked, relevant, ks=(1, 3))
    assert ev.num_without_relevant == 1 and ev.num_queries == 3
    np.testing.assert_allclose(ev.hit_rate, [0.5, 0.5])
    np.testing.assert_allclose(ev.recall, [(0.5 + 0) / 2, (1.0 + 0) / 2])
    # AP query 0: ranks 1 and 3 relevant: (1/1 + 2/3) / 2; query 1: 0 (its relevant image is not retrieved)
    assert ev.mean_average_precision == pytest.approx(((1 + 2 / 3) / 2 + 0) / 2)
    table = format_evaluation(ev)
    assert "mAP" in table and "recall" in table


def test_perfect_ranking_gives_map_one():
    rng = np.random.default_rng(10)
    relevant = rng.random((5, 12)) < 0.3
    relevant[:, 0] = True
    ranked = np.argsort(~relevant, axis=1, kind="stable")
    ev = evaluate_label_retrieval(ranked, relevant)
    assert ev.mean_average_precision == pytest.approx(1.0)
    np.testing.assert_allclose(ev.hit_rate, 1.0)


def test_evaluation_errors():
    with pytest.raises(ValueError, match="ranked"):
        evaluate_label_retrieval(np.array([[7]]), np.zeros((1, 3), bool))
    with pytest.raises(ValueError, match="bool"):
        evaluate_label_retrieval(np.array([[0]]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="ks"):
        evaluate_label_retrieval(np.array([[0]]), np.zeros((1, 3), bool), ks=(0,))
    with pytest.raises(ValueError, match="ranked lists"):
        evaluate_pose_retrieval(np.array([[0]]), np.zeros((2, 3)), None, np.zeros((1, 3)), None)
