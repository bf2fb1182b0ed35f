"""Localization accuracy: per-query pose errors and the share of queries within (metres, degrees) bins.

A query without an estimated pose (failed) has infinite errors: it is within no threshold, and it
counts in the denominator of every percentage, as in the visuallocalization.net benchmark. Median
errors are over the localized queries only (with failures, the median of all queries is often
infinite and says nothing); `num_localized` tells how many that is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kapturelike.core.pose import pose_errors

DEFAULT_THRESHOLDS: tuple[tuple[float, float], ...] = ((0.25, 2.0), (0.5, 5.0), (5.0, 10.0))


@dataclass
class GroupStats:
    """Accuracy over one set of queries (all of them, or one group label)."""

    label: str
    num_queries: int
    num_localized: int
    percent_within: list[float]
    """Percentage of queries within each (metres, degrees) threshold, same order as thresholds."""
    median_translation: float
    median_rotation: float


@dataclass
class EvaluationResult:
    names: list[str]
    translation_errors: np.ndarray
    """(N,) metres between estimated and ground-truth camera centres; inf for failed queries."""
    rotation_errors: np.ndarray
    """(N,) degrees; inf for failed queries."""
    thresholds: list[tuple[float, float]]
    overall: GroupStats
    groups: dict[str, GroupStats] = field(default_factory=dict)
    group_labels: list[str] | None = None

    @property
    def localized(self) -> np.ndarray:
        return np.isfinite(self.translation_errors) & np.isfinite(self.rotation_errors)


def check_thresholds(thresholds: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    out = []
    for i, th in enumerate(thresholds):
        if len(th) != 2 or not (th[0] >= 0 and th[1] >= 0):
            raise ValueError(f"threshold {i} must be (metres >= 0, degrees >= 0), got {th!r}")
        out.append((float(th[0]), float(th[1])))
    if not out:
        raise ValueError("at least one (metres, degrees) threshold is needed")
    return out


def group_stats(label: str, t_err: np.ndarray, r_err: np.ndarray,
                thresholds: Sequence[tuple[float, float]]) -> GroupStats:
    n = len(t_err)
    ok = np.isfinite(t_err) & np.isfinite(r_err)
    th = np.asarray(thresholds, dtype=np.float64)
    within = (t_err[None, :] <= th[:, :1]) & (r_err[None, :] <= th[:, 1:])  # (T, N); inf never passes
    percent = (100.0 * within.sum(axis=1) / n).tolist() if n else [0.0] * len(th)
    med_t = float(np.median(t_err[ok])) if ok.any() else float("nan")
    med_r = float(np.median(r_err[ok])) if ok.any() else float("nan")
    return GroupStats(label, n, int(ok.sum()), percent, med_t, med_r)


def evaluate(q_est: np.ndarray, t_est: np.ndarray, q_gt: np.ndarray, t_gt: np.ndarray,
             success: np.ndarray | None = None, names: Sequence[str] | None = None,
             groups: Sequence[str] | None = None,
             thresholds: Sequence[Sequence[float]] = DEFAULT_THRESHOLDS) -> EvaluationResult:
    """Errors of N estimated cam_from_world poses against ground truth.

    Rows with success False, or with a non-finite estimate, are failed queries. `groups` gives one
    label per query (condition, camera, ...) for a per-label breakdown next to the overall numbers.
    """
    q_est, t_est = np.asarray(q_est, np.float64).reshape(-1, 4), np.asarray(t_est, np.float64).reshape(-1, 3)
    q_gt, t_gt = np.asarray(q_gt, np.float64).reshape(-1, 4), np.asarray(t_gt, np.float64).reshape(-1, 3)
    n = len(q_gt)
    for name, arr in (("q_est", q_est), ("t_est", t_est), ("t_gt", t_gt)):
        if len(arr) != n:
            raise ValueError(f"evaluate: {name} has {len(arr)} rows, q_gt has {n}")
    if not (np.isfinite(q_gt).all() and np.isfinite(t_gt).all()):
        bad = int(np.flatnonzero(~(np.isfinite(q_gt).all(1) & np.isfinite(t_gt).all(1)))[0])
        raise ValueError(f"evaluate: ground-truth pose of query {bad} is not finite")
    ok = np.isfinite(q_est).all(1) & np.isfinite(t_est).all(1) & (np.linalg.norm(q_est, axis=1) > 0)
    if success is not None:
        success = np.asarray(success, dtype=bool).reshape(-1)
        if len(success) != n:
            raise ValueError(f"evaluate: success has {len(success)} rows, q_gt has {n}")
        ok &= success
    names = [str(x) for x in names] if names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"evaluate: names has {len(names)} entries, q_gt has {n}")
    th = check_thresholds(thresholds)
    t_err = np.full(n, np.inf)
    r_err = np.full(n, np.inf)
    if ok.any():
        t_err[ok], r_err[ok] = pose_errors(q_est[ok], t_est[ok], q_gt[ok], t_gt[ok])
    result = EvaluationResult(names, t_err, r_err, th, group_stats("all", t_err, r_err, th))
    if groups is not None:
        labels = [str(g) for g in groups]
        if len(labels) != n:
            raise ValueError(f"evaluate: groups has {len(labels)} labels, q_gt has {n}")
        arr = np.array(labels, dtype=object)
        result.group_labels = labels
        for label in sorted(set(labels)):
            m = arr == label
            result.groups[label] = group_stats(label, t_err[m], r_err[m], th)
    return result


def evaluate_named(estimates: Mapping[str, tuple], ground_truth: Mapping[str, tuple],
                   groups: Mapping[str, str] | None = None,
                   thresholds: Sequence[Sequence[float]] = DEFAULT_THRESHOLDS) -> EvaluationResult:
    """`evaluate` over image names: every ground-truth name is a query (sorted by name); a name with
    no estimate, or an estimate (q, t) containing None, is a failed query. Estimates of names without
    ground truth are ignored, since they cannot be scored."""
    names = sorted(ground_truth)
    if not names:
        raise ValueError("evaluate_named: ground truth is empty")
    nan_q, nan_t = np.full(4, np.nan), np.full(3, np.nan)

    def row(pose: tuple | None) -> tuple[np.ndarray, np.ndarray]:
        if pose is None or pose[0] is None or pose[1] is None:
            return nan_q, nan_t
        return np.asarray(pose[0], np.float64), np.asarray(pose[1], np.float64)

    est = [row(estimates.get(n)) for n in names]
    gt = [row(ground_truth[n]) for n in names]
    labels = None
    if groups is not None:
        missing = [n for n in names if n not in groups]
        if missing:
            raise ValueError(f"evaluate_named: no group label for query '{missing[0]}'")
        labels = [groups[n] for n in names]
    return evaluate(np.stack([e[0] for e in est]), np.stack([e[1] for e in est]),
                    np.stack([g[0] for g in gt]), np.stack([g[1] for g in gt]),
                    names=names, groups=labels, thresholds=thresholds)
