import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.evaluation.metrics import evaluate
from kapturelike.evaluation.report import draw_png, render_png


def scene(n=40, seed=0):
    rng = np.random.default_rng(seed)
    s = np.linspace(0, 1, n)
    c_gt = np.c_[20 * s, 0.2 * rng.normal(size=n), 10 * np.sin(3 * s)]
    q_gt = P.normalize_quaternions(np.c_[np.ones(n), 0.1 * rng.normal(size=(n, 3))])
    c_est = c_gt + rng.lognormal(-2, 1.2, (n, 1)) * rng.normal(size=(n, 3))
    c_est[::7] = np.nan  # failed queries
    q_est = q_gt.copy()
    q_est[::7] = np.nan
    t_gt = P.poses_from_centers(q_gt, c_gt)
    t_est = np.where(np.isfinite(c_est), P.poses_from_centers(q_gt, np.nan_to_num(c_est)), np.nan)
    return q_est, t_est, q_gt, t_gt, c_gt, c_est


def test_png_written_and_non_trivial(tmp_path):
    q_est, t_est, q_gt, t_gt, c_gt, c_est = scene()
    groups = ["day" if i % 2 else "night" for i in range(len(c_gt))]
    res = evaluate(q_est, t_est, q_gt, t_gt, groups=groups)
    path = tmp_path / "eval.png"
    draw_png(res, c_gt, c_est, path)
    img = cv2.imread(str(path))
    assert img is not None and img.shape == (560, 1200, 3)
    non_white = (img < 250).any(axis=2)
    assert 0.01 < non_white.mean() < 0.5
    # both panels carry drawing, and the colours of ground truth (green) and estimates (red) appear
    assert non_white[:, :600].mean() > 0.01 and non_white[:, 600:].mean() > 0.01
    assert ((img[:, 600:, 1] > 120) & (img[:, 600:, 2] < 80)).sum() > 50
    assert ((img[:, 600:, 2] > 180) & (img[:, 600:, 1] < 80)).sum() > 50
    linear = render_png(res, c_gt, c_est, log_scale=False)
    assert linear.shape == img.shape and not np.array_equal(linear, img)


def test_png_all_failed(tmp_path):
    q_est, t_est, q_gt, t_gt, c_gt, _ = scene(n=5)
    res = evaluate(np.full_like(q_est, np.nan), np.full_like(t_est, np.nan), q_gt, t_gt)
    draw_png(res, c_gt, np.full_like(c_gt, np.nan), tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
