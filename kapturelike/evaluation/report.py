"""Present an `EvaluationResult`: a text table, a JSON file and a PNG figure (OpenCV, no matplotlib)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from kapturelike.evaluation.kapture_stats import stats_text
from kapturelike.evaluation.metrics import EvaluationResult, GroupStats
from kapturelike.io.text import atomic_write_bytes

# BGR colours; the first is used for the overall curve, the others for groups.
_COLOURS = [(40, 40, 40), (200, 90, 20), (30, 140, 30), (30, 30, 200), (160, 40, 160), (20, 150, 180)]
_GT_COLOUR = (30, 150, 30)
_EST_COLOUR = (40, 40, 220)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.3f}" if abs(x) < 1e4 else f"{x:.4g}"


def format_table(result: EvaluationResult) -> str:
    """One line per group (overall first): counts, % within each threshold, median errors."""
    heads = ["group", "queries", "localized"] + [f"({m:g}m,{d:g}deg)" for m, d in result.thresholds] \
        + ["median m", "median deg"]
    rows = []
    for g in [result.overall, *result.groups.values()]:
        rows.append([g.label, str(g.num_queries), str(g.num_localized)]
                    + [f"{p:.1f}%" for p in g.percent_within]
                    + [_fmt(g.median_translation), _fmt(g.median_rotation)])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(heads, widths)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def format_stats(result: EvaluationResult, label: str) -> str:
    """``stats.txt`` as kapture-localization's ``kapture_evaluate`` writes it for one model."""
    scores = [(name, float(t) if math.isfinite(t) else math.nan, float(r) if math.isfinite(r) else math.nan)
              for name, t, r in zip(result.names, result.translation_errors.tolist(),
                                    result.rotation_errors.tolist())]
    return stats_text(label, scores, [(float(m), float(d)) for m, d in result.thresholds])


def _stats_dict(g: GroupStats) -> dict:
    return {"num_queries": g.num_queries, "num_localized": g.num_localized,
            "percent_within": g.percent_within,
            "median_translation": g.median_translation if math.isfinite(g.median_translation) else None,
            "median_rotation": g.median_rotation if math.isfinite(g.median_rotation) else None}


def to_dict(result: EvaluationResult) -> dict:
    """JSON-ready dict; infinite (failed) errors become null."""
    finite = result.localized
    queries = []
    for i, name in enumerate(result.names):
        q = {"name": name,
             "translation_error": float(result.translation_errors[i]) if finite[i] else None,
             "rotation_error": float(result.rotation_errors[i]) if finite[i] else None}
        if result.group_labels is not None:
            q["group"] = result.group_labels[i]
        queries.append(q)
    return {"thresholds": [list(t) for t in result.thresholds], "overall": _stats_dict(result.overall),
            "groups": {k: _stats_dict(v) for k, v in result.groups.items()}, "queries": queries}


def write_json(result: EvaluationResult, path: str | Path) -> None:
    atomic_write_bytes(path, json.dumps(to_dict(result), indent=2).encode())


def _text(img: np.ndarray, s: str, org: tuple[int, int], colour=(0, 0, 0), scale: float = 0.45) -> None:
    cv2.putText(img, s, (int(org[0]), int(org[1])), _FONT, scale, colour, 1, cv2.LINE_AA)


def _draw_cdf(img: np.ndarray, result: EvaluationResult, box: tuple[int, int, int, int], log: bool) -> None:
    x0, y0, x1, y1 = box
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    finite = result.translation_errors[np.isfinite(result.translation_errors)]
    top = 1.5 * max(m for m, _ in result.thresholds)
    if finite.size:
        top = max(top, float(finite.max()) * 1.1)
    top = top if top > 0 else 1.0
    bottom = 1e-3 if log else 0.0
    if log and finite.size and finite[finite > 0].size:
        bottom = min(bottom, float(finite[finite > 0].min()) * 0.9)

    def px(v: np.ndarray) -> np.ndarray:
        v = np.clip(np.asarray(v, dtype=np.float64), bottom if log else 0.0, top)
        u = (np.log10(v) - np.log10(bottom)) / (np.log10(top) - np.log10(bottom)) if log else v / top
        return x0 + u * (x1 - x0)

    def py(frac: np.ndarray) -> np.ndarray:
        return y1 - np.asarray(frac) * (y1 - y0)

    for f in (0.25, 0.5, 0.75, 1.0):
        cv2.line(img, (x0, int(py(f))), (x1, int(py(f))), (225, 225, 225), 1)
        _text(img, f"{int(f * 100)}%", (x0 - 38, py(f) + 4))
    ticks = [10.0 ** e for e in range(math.floor(math.log10(bottom)), math.ceil(math.log10(top)) + 1)] \
        if log else list(np.linspace(0, top, 5))
    for v in ticks:
        if (bottom if log else 0) <= v <= top:
            _text(img, f"{v:g}", (px(v) - 10, y1 + 16))
    for i, (m, _) in enumerate(result.thresholds):
        if m > 0 or not log:
            x = int(px(m))
            for yy in range(y0, y1, 8):  # dashed threshold mark
                cv2.line(img, (x, yy), (x, min(yy + 4, y1)), (120, 120, 120), 1)
            # staggered so that close thresholds on a linear axis stay readable
            _text(img, f"{m:g}m", (x + 3, y1 - 8 - 14 * i), (90, 90, 90), 0.4)
    curves = [("all", result.translation_errors)]
    if result.group_labels is not None:
        labels = np.array(result.group_labels, dtype=object)
        curves += [(k, result.translation_errors[labels == k]) for k in result.groups]
    for ci, (label, errs) in enumerate(curves[:len(_COLOURS)]):
        colour = _COLOURS[ci]
        e = np.sort(errs[np.isfinite(errs)])
        n = max(len(errs), 1)
        if e.size:
            # Step curve: the fraction jumps at each error; failed queries keep it below 100%.
            xs = np.repeat(px(e), 2)[1:]
            ys = np.repeat(np.arange(1, e.size + 1) / n, 2)[:-1]
            pts = np.stack([np.concatenate([[px(e[0])], xs, [x1]]),
                            py(np.concatenate([[0.0], ys, [e.size / n]]))], axis=1)
            cv2.polylines(img, [np.round(pts).astype(np.int32)], False, colour, 2 if ci == 0 else 1, cv2.LINE_AA)
        # legend right of centre, half-way up: where a recall curve rarely runs
        _text(img, f"{label} ({e.size}/{len(errs)})", (x1 - 150, (y0 + y1) // 2 + 16 * ci), colour)
    _text(img, "translation error CDF (m, " + ("log" if log else "linear") + ")", (x0, y0 - 8), scale=0.5)


def _draw_topdown(img: np.ndarray, gt: np.ndarray, est: np.ndarray, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    axes = np.sort(np.argsort(-np.ptp(gt, axis=0))[:2]) if len(gt) else np.array([0, 2])
    names = "xyz"
    g, e = gt[:, axes], est[:, axes]
    ok = np.isfinite(e).all(1)
    both = np.concatenate([g, e[ok]]) if ok.any() else g
    lo, hi = (both.min(0), both.max(0)) if len(both) else (np.zeros(2), np.ones(2))
    span = float(max(hi - lo)) or 1.0
    scale = 0.9 * min(x1 - x0, y1 - y0) / span
    centre = (lo + hi) / 2

    def to_px(p: np.ndarray) -> np.ndarray:
        # Image y grows downwards: flip so the second axis points up.
        return np.stack([(x0 + x1) / 2 + (p[:, 0] - centre[0]) * scale,
                         (y0 + y1) / 2 - (p[:, 1] - centre[1]) * scale], axis=1).round().astype(np.int32)

    gp, ep = to_px(g), to_px(np.where(ok[:, None], e, 0.0))
    for a, b in zip(gp[ok], ep[ok]):
        cv2.line(img, tuple(int(v) for v in a), tuple(int(v) for v in b), (170, 170, 170), 1, cv2.LINE_AA)
    for i, a in enumerate(gp):
        cv2.circle(img, (int(a[0]), int(a[1])), 3, _GT_COLOUR, -1, cv2.LINE_AA)
        if not ok[i]:
            cv2.drawMarker(img, (int(a[0]), int(a[1])), (0, 0, 0), cv2.MARKER_TILTED_CROSS, 9, 1)
    for b in ep[ok]:
        cv2.circle(img, (int(b[0]), int(b[1])), 3, _EST_COLOUR, 1, cv2.LINE_AA)
    _text(img, f"top-down view ({names[axes[0]]} right, {names[axes[1]]} up)", (x0, y0 - 8), scale=0.5)
    _text(img, "ground truth", (x0 + 8, y0 + 18), _GT_COLOUR)
    _text(img, "estimate", (x0 + 8, y0 + 34), _EST_COLOUR)
    _text(img, "x: failed", (x0 + 8, y0 + 50))
    _text(img, f"scale: {span:.3g} m across", (x0 + 8, y1 - 8), (90, 90, 90), 0.4)


def render_png(result: EvaluationResult, gt_centers: np.ndarray, est_centers: np.ndarray,
               log_scale: bool = True, size: tuple[int, int] = (1200, 560)) -> np.ndarray:
    """The figure as an (H, W, 3) BGR uint8 image: error CDF left, top-down positions right."""
    gt = np.asarray(gt_centers, dtype=np.float64).reshape(-1, 3)
    est = np.asarray(est_centers, dtype=np.float64).reshape(-1, 3)
    if len(gt) != len(est):
        raise ValueError(f"draw_png: {len(gt)} ground-truth centres but {len(est)} estimated centres")
    w, h = size
    img = np.full((h, w, 3), 255, dtype=np.uint8)
    mid = w // 2
    _draw_cdf(img, result, (60, 50, mid - 30, h - 50), log_scale)
    _draw_topdown(img, gt, est, (mid + 20, 50, w - 20, h - 50))
    stats = result.overall
    summary = "  ".join(f"({m:g}m,{d:g}deg): {p:.1f}%" for (m, d), p in zip(result.thresholds,
                                                                             stats.percent_within))
    _text(img, f"{stats.num_localized}/{stats.num_queries} localized   {summary}", (20, 22), scale=0.5)
    return img


def draw_png(result: EvaluationResult, gt_centers: np.ndarray, est_centers: np.ndarray,
             path: str | Path, log_scale: bool = True) -> None:
    """Write the figure of `render_png` to `path` (atomically); est_centers rows are NaN for failures."""
    ok, buf = cv2.imencode(".png", render_png(result, gt_centers, est_centers, log_scale))
    if not ok:
        raise ValueError(f"could not encode PNG for {path}")
    atomic_write_bytes(path, buf.tobytes())
