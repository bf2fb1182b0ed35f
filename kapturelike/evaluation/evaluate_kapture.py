"""Evaluate estimated image poses against a ground-truth kapture, by image name.

Poses are compared per image (camera), so rig datasets work on either side: a rig pose is turned
into each camera's pose through rigs.txt (``image_poses``). Every ground-truth image is a query; an
image without an estimate counts as failed. ``output_dir`` receives results.json, results.txt and
errors.png. The localization pipeline writes its eval/ folder through ``evaluate_and_write`` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from kapturelike.core.image_poses import image_poses
from kapturelike.core.pose import camera_centers
from kapturelike.core.reconstruction import Kapture
from kapturelike.errors import KapturelikeError
from kapturelike.evaluation.metrics import DEFAULT_THRESHOLDS, EvaluationResult, evaluate_named
from kapturelike.evaluation.report import draw_png, format_stats, format_table, write_json
from kapturelike.io.dataset import load_kapture
from kapturelike.io.text import atomic_write

GROUP_BY = ("camera", "none")
Estimate = tuple[np.ndarray | None, np.ndarray | None] | None


class EvaluationInputError(KapturelikeError, ValueError):
    """Datasets that cannot be compared (no ground truth, disjoint image names, bad option)."""


def evaluate_and_write(estimates: Mapping[str, Estimate], ground_truth: Kapture, output_dir: str | Path,
                       thresholds: Sequence[Sequence[float]] = DEFAULT_THRESHOLDS,
                       group_by: str = "camera", label: str = "kapturelike") -> EvaluationResult | None:
    """Score ``estimates`` (image name -> world-to-camera (q, t), None when failed) against the poses of
    ``ground_truth``; write results.json, results.txt, errors.png and stats.txt (kapture_evaluate's
    format, model ``label``) to ``output_dir``.

    Returns None, writing nothing, when the ground truth has no image pose.
    """
    if group_by not in GROUP_BY:
        raise EvaluationInputError(f"group_by must be one of {GROUP_BY}, got '{group_by}'")
    gt = image_poses(ground_truth)
    if not gt:
        return None
    groups = None
    if group_by == "camera":
        camera_of = {name: key[1] for name, key in ground_truth.image_keys().items()}
        groups = {name: camera_of[name] for name in gt}
    result = evaluate_named(estimates, gt, groups, thresholds)
    output_dir = Path(output_dir)
    write_json(result, output_dir / "results.json")
    with atomic_write(output_dir / "results.txt") as f:
        f.write(format_table(result) + "\n")
    with atomic_write(output_dir / "stats.txt") as f:
        f.write(format_stats(result, label))
    q_gt = np.array([gt[n][0] for n in result.names])
    t_gt = np.array([gt[n][1] for n in result.names])
    est_centers = np.full((len(result.names), 3), np.nan)
    ok = result.localized
    if ok.any():
        names = [n for n, good in zip(result.names, ok) if good]
        est_centers[ok] = camera_centers(np.array([estimates[n][0] for n in names], np.float64),
                                         np.array([estimates[n][1] for n in names], np.float64))
    draw_png(result, camera_centers(q_gt, t_gt), est_centers, output_dir / "errors.png")
    return result


def main(estimated_kapture_dir: str | Path, ground_truth_kapture_dir: str | Path, output_dir: str | Path,
         thresholds: Sequence[Sequence[float]] = DEFAULT_THRESHOLDS, group_by: str = "camera") -> EvaluationResult:
    """Compare the image poses of two kapture datasets by image name and write the report files."""
    estimated = load_kapture(estimated_kapture_dir)
    ground_truth = load_kapture(ground_truth_kapture_dir)
    estimates = image_poses(estimated)
    gt_names = set(ground_truth.image_names())
    if estimates and not gt_names & set(estimates):
        example = sorted(estimates)[0]
        raise EvaluationInputError(f"{estimated_kapture_dir}: none of the {len(estimates)} posed images is in the "
                                   f"ground truth {ground_truth_kapture_dir} (e.g. '{example}'); image names must "
                                   "be the same record paths")
    result = evaluate_and_write(estimates, ground_truth, output_dir, thresholds, group_by)
    if result is None:
        raise EvaluationInputError(f"{ground_truth_kapture_dir}: no image has a ground-truth pose "
                                   "(sensors/trajectories.txt is missing or empty)")
    return result
