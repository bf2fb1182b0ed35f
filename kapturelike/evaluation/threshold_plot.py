"""kapture-localization's plot.png: for each input, the percentage of images localized within a position
threshold (0 to ``plot_max`` cm, 101 steps; within ``rotation_threshold`` degrees too unless negative),
drawn with OpenCV instead of matplotlib (same curves, axes, grid, legend and title; not the same pixels).

The legend goes where matplotlib's ``legend(loc=...)`` puts it ('best': the first of matplotlib's
candidate places that the curves cross least). Font sizes are matplotlib's points: the 800 x 600 canvas
stands for matplotlib's default 6.4 x 4.8 inch figure, so a point is 800 / (6.4 * 72) pixels, and a
Hershey capital is drawn as tall as a DejaVu Sans capital (0.73 em) of that size. As in matplotlib,
tick and axis labels use the font size, the title 1.2 times it, the legend its own size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kapturelike.evaluation.kapture_stats import Score
from kapturelike.io.text import atomic_write_bytes

# matplotlib's legend locations, in the order of its location codes (1 to 10) after 'best' (0)
LEGEND_LOCATIONS = ("best", "upper right", "upper left", "lower left", "lower right", "right", "center left",
                    "center right", "lower center", "upper center", "center")

# matplotlib's default colour cycle (tab10), as BGR
_COLOURS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140),
            (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SIZE = (800, 600)
PIXELS_PER_POINT = _SIZE[0] / (6.4 * 72)
_HERSHEY_CAP = 21.0  # height of a capital of FONT_HERSHEY_SIMPLEX at scale 1, pixels
_CAP_EM = 0.73  # height of a DejaVu Sans capital (matplotlib's default font), in em
# (vertical, horizontal) place of each legend location; matplotlib's 'right' is 'center right'
_PLACES = {loc: ("center", "right") if loc == "right" else ("center", "center") if loc == "center"
           else tuple(loc.split()) if loc.split()[0] in ("upper", "lower") else ("center", loc.split()[1])
           for loc in LEGEND_LOCATIONS[1:]}


@dataclass(frozen=True)
class PlotOptions:
    rotation_threshold: float = -1.0  # degrees; negative: position only
    plot_max: int = 100  # cm
    title: str = ""
    legend_loc: str = "best"  # one of LEGEND_LOCATIONS
    font_size: float = 15  # points: matplotlib's rcParams['font.size']
    legend_font_size: float = 8  # points: matplotlib's rcParams['legend.fontsize']


def font_scale(points: float) -> float:
    """OpenCV's font scale for text of ``points`` points (see the module's docstring)."""
    return max(points, 1.0) * PIXELS_PER_POINT * _CAP_EM / _HERSHEY_CAP


@dataclass(frozen=True)
class _Font:
    scale: float

    @property
    def thickness(self) -> int:
        return max(1, round(self.scale * 1.6))

    @property
    def em(self) -> float:  # pixels
        return self.scale * _HERSHEY_CAP / _CAP_EM

    def size(self, text: str) -> tuple[int, int]:
        """(width, capital height) in pixels."""
        (w, _), _ = cv2.getTextSize(text, _FONT, self.scale, self.thickness)
        return w, round(self.scale * _HERSHEY_CAP)

    def draw(self, img: np.ndarray, text: str, x: float, y: float, colour=(0, 0, 0)) -> None:
        """``(x, y)``: the left end of the text's baseline."""
        cv2.putText(img, text, (int(round(x)), int(round(y))), _FONT, self.scale, colour, self.thickness, cv2.LINE_AA)


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


def legend_box(loc: str, size: tuple[float, float], axes: tuple[float, float, float, float], pad: float,
               curves: Sequence[np.ndarray] = ()) -> tuple[float, float]:
    """Top-left corner of a legend of ``size`` (w, h) placed at ``loc`` inside ``axes`` (x0, y0, x1, y1),
    ``pad`` pixels from its border; 'best' weighs each place by the curve points (pixels, (K, 2) arrays)
    it covers and keeps the first least covered, in matplotlib's order."""
    if loc not in LEGEND_LOCATIONS:
        raise ValueError(f"legend location '{loc}' is not one of: {', '.join(LEGEND_LOCATIONS)}")
    w, h = size
    x0, y0, x1, y1 = axes
    if loc == "best":
        points = np.concatenate([_densified(c) for c in curves]) if len(curves) else np.zeros((0, 2))
        best, fewest = LEGEND_LOCATIONS[1], None
        for candidate in LEGEND_LOCATIONS[1:]:
            left, top = legend_box(candidate, size, axes, pad)
            covered = int(((points[:, 0] >= left) & (points[:, 0] <= left + w) & (points[:, 1] >= top)
                           & (points[:, 1] <= top + h)).sum())
            if fewest is None or covered < fewest:
                best, fewest = candidate, covered
            if covered == 0:
                break
        return legend_box(best, size, axes, pad)
    vertical, horizontal = _PLACES[loc]
    left = {"left": x0 + pad, "right": x1 - pad - w}.get(horizontal, (x0 + x1 - w) / 2)
    top = {"upper": y0 + pad, "lower": y1 - pad - h}.get(vertical, (y0 + y1 - h) / 2)
    return left, top


def _densified(polyline: np.ndarray, steps: int = 8) -> np.ndarray:
    """Points along a (K, 2) polyline, ``steps`` per segment: a segment crossing the legend counts too."""
    if len(polyline) < 2:
        return polyline
    f = np.linspace(0.0, 1.0, steps, endpoint=False)[None, :, None]
    return np.concatenate([(polyline[:-1, None] * (1 - f) + polyline[1:, None] * f).reshape(-1, 2), polyline[-1:]])


def render_plot(labels: Sequence[str], results: Sequence[list[Score]], options: PlotOptions = PlotOptions()
                ) -> np.ndarray:
    """The figure as an (H, W, 3) BGR image."""
    if options.plot_max <= 0:
        raise ValueError(f"--plot-max must be > 0, got {options.plot_max}")
    plot_max = options.plot_max
    thresholds, curves = localized_curves(results, options.rotation_threshold, plot_max)
    text, legend_text = _Font(font_scale(options.font_size)), _Font(font_scale(options.legend_font_size))
    title_text = _Font(font_scale(1.2 * options.font_size))
    w, h = _SIZE
    img = np.full((h, w, 3), 255, np.uint8)
    _, cap = text.size("0")
    tick_width = text.size(str(plot_max))[0]
    x0 = int(10 + 1.5 * cap + 0.6 * text.em + text.size("100")[0] + 0.5 * text.em)
    y0 = int(10 + title_text.size("T")[1] + 0.8 * title_text.em)
    x1, y1 = int(w - 10 - tick_width / 2), int(h - 10 - 2 * cap - 1.4 * text.em)

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
        text.draw(img, f"{cm}", px(cm) - text.size(f"{cm}")[0] / 2, y1 + 0.5 * text.em + cap)
    for percent in range(0, 101, 20):
        text.draw(img, f"{percent}", x0 - 0.5 * text.em - text.size(f"{percent}")[0], py(percent) + cap / 2)
    polylines = [np.stack([px(thresholds), py(curve)], axis=1) for curve in curves]
    for i, points in enumerate(polylines):
        cv2.polylines(img, [np.round(points).astype(np.int32)], False, _COLOURS[i % len(_COLOURS)], 2, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    xlabel = "position error threshold (cm)"
    text.draw(img, xlabel, (x0 + x1 - text.size(xlabel)[0]) / 2, h - 10 - 0.2 * text.em)
    _draw_ylabel(img, text, "localized images (%)", 10, (y0 + y1) / 2)
    heading = options.title
    if options.rotation_threshold >= 0:
        heading += (" " if heading else "") + f"alpha_th={options.rotation_threshold} deg"
    title_text.draw(img, heading, (x0 + x1 - title_text.size(heading)[0]) / 2, y0 - 0.5 * title_text.em)
    if labels:
        _draw_legend(img, legend_text, labels, options.legend_loc, (x0, y0, x1, y1), polylines)
    return img


def _draw_ylabel(img: np.ndarray, font: _Font, label: str, left: int, middle: float) -> None:
    width, cap = font.size(label)
    strip = np.full((int(cap * 1.6) + 2, width + 4, 3), 255, np.uint8)
    font.draw(strip, label, 2, cap + 1)
    strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    top = max(0, int(middle - strip.shape[0] / 2))
    bottom, right = min(img.shape[0], top + strip.shape[0]), min(img.shape[1], left + strip.shape[1])
    img[top:bottom, left:right] = np.minimum(img[top:bottom, left:right], strip[:bottom - top, :right - left])


def _draw_legend(img: np.ndarray, font: _Font, labels: Sequence[str], loc: str,
                 axes: tuple[int, int, int, int], polylines: Sequence[np.ndarray]) -> None:
    """matplotlib's legend layout, in em of the legend font: 0.4 border pad, 2 long handles, 0.8 between
    handle and text, 0.5 between rows, 0.5 from the axes."""
    em = font.em
    _, cap = font.size("H")
    row = cap + 0.5 * em
    text_width = max(font.size(label)[0] for label in labels)
    width = 0.8 * em + 2 * em + 0.8 * em + text_width
    height = 0.8 * em + len(labels) * row - 0.5 * em + cap * 0.3
    left, top = legend_box(loc, (width, height), axes, 0.5 * em, polylines)
    corner, far = (int(left), int(top)), (int(left + width), int(top + height))
    cv2.rectangle(img, corner, far, (255, 255, 255), -1)
    cv2.rectangle(img, corner, far, (204, 204, 204), 1)
    for i, label in enumerate(labels):
        baseline = top + 0.4 * em + cap + i * row
        colour = _COLOURS[i % len(_COLOURS)]
        y = int(baseline - cap / 2)
        cv2.line(img, (int(left + 0.4 * em), y), (int(left + 2.4 * em), y), colour, 2, cv2.LINE_AA)
        font.draw(img, label, left + 3.2 * em, baseline)


def write_plot(path: str | Path, labels: Sequence[str], results: Sequence[list[Score]],
               options: PlotOptions = PlotOptions()) -> None:
    ok, buf = cv2.imencode(".png", render_plot(labels, results, options))
    if not ok:
        raise ValueError(f"{path}: could not encode the PNG image")
    atomic_write_bytes(path, buf.tobytes())
