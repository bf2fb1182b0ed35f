"""kapture-localization's plot.png: for each input, the percentage of images localized within a position
threshold (0 to ``plot_max`` cm, 101 steps; within ``rotation_threshold`` degrees too unless negative),
drawn with OpenCV instead of matplotlib (same curves, axes, grid, legend and title; not the same pixels)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from kapturelike.evaluation.kapture_stats import Score
from kapturelike.io.text import atomic_write_bytes

# matplotlib's default colour cycle (tab10), as BGR
_COLOURS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140),
            (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def localized_curves(results: Sequence[list[Score]], rotation_threshold: float, plot_max: int
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Position thresholds (cm) and, per input, the percentage of its images within each."""
    thresholds = np.linspace(0.0, 1.0, num=101) * plot_max
    curves = []
    for scores in results:
        positions = np.array([p for _, p, _ in scores], dtype=np.float64)
        rotations = np.array([r for _, _, r in scores], dtype=np.float64)
        rotation_ok = np.ones(len(scores), bool) if rotation_threshold < 0 else rotations <= rotation_threshold
        within = (positions[None, :] <= thresholds[:, None] / 100.0) & rotation_ok[None, :]
        curves.append(100.0 * within.sum(axis=1) / max(len(scores), 1))
    return thresholds, curves


def _text(img: np.ndarray, text: str, org: tuple[float, float], scale: float = 0.5, colour=(0, 0, 0)) -> None:
    cv2.putText(img, text, (int(org[0]), int(org[1])), _FONT, scale, colour, 1, cv2.LINE_AA)


def render_plot(labels: Sequence[str], results: Sequence[list[Score]], rotation_threshold: float = -1,
                plot_max: int = 100, title: str = "", size: tuple[int, int] = (800, 600)) -> np.ndarray:
    """The figure as an (H, W, 3) BGR image."""
    if plot_max <= 0:
        raise ValueError(f"--plot-max must be > 0, got {plot_max}")
    thresholds, curves = localized_curves(results, rotation_threshold, plot_max)
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = 80, 50, w - 30, h - 70

    def px(cm: np.ndarray) -> np.ndarray:
        return x0 + np.asarray(cm) / plot_max * (x1 - x0)

    def py(percent: np.ndarray) -> np.ndarray:
        return y1 - np.asarray(percent) / 100.0 * (y1 - y0)

    grey = (230, 230, 230)
    step = max(plot_max // 10, 1)
    for cm in range(step, plot_max - step + 1, step):
        cv2.line(img, (int(px(cm)), y0), (int(px(cm)), y1), grey, 1)
    for percent in range(10, 91, 10):
        cv2.line(img, (x0, int(py(percent))), (x1, int(py(percent))), grey, 1)
    for cm in range(0, plot_max + 1, step):
        _text(img, f"{cm}", (px(cm) - 8, y1 + 20), 0.45)
    for percent in range(0, 101, 20):
        _text(img, f"{percent}", (x0 - 40, py(percent) + 5), 0.45)
    for i, curve in enumerate(curves):
        points = np.stack([px(thresholds), py(curve)], axis=1)
        cv2.polylines(img, [np.round(points).astype(np.int32)], False, _COLOURS[i % len(_COLOURS)], 2, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    _text(img, "position error threshold (cm)", ((x0 + x1) / 2 - 130, h - 25))
    ylabel = np.full((30, 240, 3), 255, np.uint8)
    _text(ylabel, "localized images (%)", (5, 20))
    ylabel = cv2.rotate(ylabel, cv2.ROTATE_90_COUNTERCLOCKWISE)
    top = int((y0 + y1) / 2 - 120)
    img[top:top + 240, 10:40] = np.minimum(img[top:top + 240, 10:40], ylabel)
    heading = title
    if rotation_threshold >= 0:
        heading += (" " if title else "") + f"alpha_th={rotation_threshold} deg"
    _text(img, heading, ((x0 + x1) / 2 - 4 * len(heading), y0 - 15), 0.6)
    for i, label in enumerate(labels):  # legend, lower right (where the curves reach 100 %, it is upper left)
        y = y1 - 20 - 22 * (len(labels) - 1 - i)
        colour = _COLOURS[i % len(_COLOURS)]
        cv2.line(img, (x1 - 200, y - 5), (x1 - 170, y - 5), colour, 2, cv2.LINE_AA)
        _text(img, label if len(label) <= 24 else label[:21] + "...", (x1 - 162, y), 0.45)
    return img


def write_plot(path: str | Path, labels: Sequence[str], results: Sequence[list[Score]],
               rotation_threshold: float = -1, plot_max: int = 100, title: str = "") -> None:
    ok, buf = cv2.imencode(".png", render_plot(labels, results, rotation_threshold, plot_max, title))
    if not ok:
        raise ValueError(f"{path}: could not encode the PNG image")
    atomic_write_bytes(path, buf.tobytes())

