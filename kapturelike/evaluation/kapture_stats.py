"""kapture-localization's evaluation files: ``scores_<label>.txt`` (image, position error, rotation error) and
``stats.txt`` (images found, mean / median errors, percentage of images within each bin), same layout."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from statistics import mean, median

import numpy as np

from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.pose import camera_centers, rotation_error_deg
from kapturelike.core.reconstruction import Kapture
from kapturelike.errors import KapturelikeError
from kapturelike.io.text import atomic_write

Score = tuple[str, float, float]  # image name, position error (m), rotation error (degrees)


def parse_bins(bins: Sequence[str]) -> list[tuple[float, float]]:
    """kapture's bins: 'METRES DEGREES' strings (a negative or nan rotation: position only)."""
    parsed = []
    for text in bins:
        parts = text.split()
        try:
            metres, degrees = (float(p) for p in parts)
        except ValueError:
            raise KapturelikeError(f"bin '{text}' is not 'METRES DEGREES' (e.g. '0.25 2')") from None
        parsed.append((metres, degrees))
    return parsed


def evaluate_images(estimated: Kapture, ground_truth: Kapture, images: set[str]) -> list[Score]:
    """Errors of the images of ``images`` posed in both datasets; the others get nan; sorted by name.

    An image that ``estimated`` poses and ``ground_truth`` does not cannot be scored: an error, where
    kapture-localization's ``evaluate`` fails on a missing key."""
    def table(k: Kapture) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        names, _, _, q, t = image_pose_table(k)
        return {n: (q[i], t[i]) for i, n in enumerate(names) if n in images}

    est, gt = table(estimated), table(ground_truth)
    unscored = sorted(set(est) - set(gt))
    if unscored:
        raise KapturelikeError(f"{len(unscored)} image(s) have an estimated pose and no ground-truth pose "
                               f"(first: '{unscored[0]}'); list the images to evaluate with -l/--image-list")
    both = sorted(set(est) & set(gt))
    scores: list[Score] = []
    if both:
        qe, te = np.array([est[n][0] for n in both]), np.array([est[n][1] for n in both])
        qg, tg = np.array([gt[n][0] for n in both]), np.array([gt[n][1] for n in both])
        positions = np.linalg.norm(camera_centers(qe, te) - camera_centers(qg, tg), axis=1)
        rotations = rotation_error_deg(qe, qg)
        scores = [(n, float(p), float(r)) for n, p, r in zip(both, positions.tolist(), rotations.tolist())]
    scores += [(n, math.nan, math.nan) for n in images - set(both)]
    return sorted(scores)


def stats_text(label: str, scores: list[Score], bins: list[tuple[float, float]]) -> str:
    """One model's block of stats.txt."""
    positions = [p for _, p, _ in scores if not math.isnan(p)]
    rotations = [r for _, _, r in scores if not math.isnan(r)]
    all_positions = [math.inf if math.isnan(p) else p for _, p, _ in scores]
    all_rotations = [math.inf if math.isnan(r) else r for _, _, r in scores]
    n = len(scores)

    def stat(f, values):
        return f(values) if values else math.inf

    text = f"Model: {label}\n\n"
    text += f"Found {len(positions)} / {n} image positions ({100.0 * len(positions) / n:.2f} %).\n"
    text += f"Found {len(rotations)} / {n} image rotations ({100.0 * len(rotations) / n:.2f} %).\n"
    text += (f"Localized images: mean=({stat(mean, positions):.4f}m, {stat(mean, rotations):.4f} deg) / "
             f"median=({stat(median, positions):.4f}m, {stat(median, rotations):.4f} deg)\n")
    text += f"All: median=({stat(median, all_positions):.4f}m, {stat(median, all_rotations):.4f} deg)\n"
    text += f"Min: {stat(min, positions):.4f}m; {stat(min, rotations):.4f} deg\n"
    text += f"Max: {stat(max, positions):.4f}m; {stat(max, rotations):.4f} deg\n\n"
    for metres, degrees in bins:
        position_only = math.isnan(degrees) or degrees < 0
        inside = sum(1 for _, p, r in scores if p <= metres and (position_only or r <= degrees))
        text += f"({metres}m, {degrees} deg): {inside / n * 100.0:.2f}%\n"
    return text + "\n"


def safe_label(label: str) -> str:
    return label.translate(label.maketrans("\\/:*?<>|", "________"))


def refuse_existing(output: str | Path, labels: Sequence[str], force: bool) -> list[Path]:
    """The files an evaluation writes (scores per label, then stats.txt); an existing one is an error
    without ``force`` (kapture's rule)."""
    targets = [Path(output) / f"scores_{safe_label(label)}.txt" for label in labels] + [Path(output) / "stats.txt"]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise KapturelikeError(f"{existing[0]}: already exists (use --force to overwrite)")
    return targets


def write_kapture_evaluation(output: str | Path, labels: Sequence[str], results: Sequence[list[Score]],
                             bins: Sequence[str], force: bool = False, title: str = "") -> str:
    """Write scores_<label>.txt per input and stats.txt into ``output``; returns the stats text.

    An existing file is replaced only with ``force`` (kapture's rule)."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    targets = refuse_existing(output, labels, force)
    parsed = parse_bins(bins)
    for path, scores in zip(targets, results):
        with atomic_write(path) as f:
            f.writelines(f"{name} {p} {r}\n" for name, p, r in scores)
    text = "".join(stats_text(label, scores, parsed) for label, scores in zip(labels, results))
    if len(results) > 1:
        text += summary_tables(labels, results, parsed, title)
    with atomic_write(targets[-1]) as f:
        f.write(text)
    return text


def _bin_cells(scores: list[Score], bins: list[tuple[float, float]]) -> list[str]:
    return [line.split(": ")[1] for line in stats_text("", scores, bins).splitlines() if line.startswith("(")]


def _aligned(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]], list[int]]:
    """tabulate's column layout for text cells: left aligned, each column as wide as its widest cell and at
    least two characters wider than its header."""
    widths = [max([len(h) + 2] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    return ([h.ljust(w) for h, w in zip(headers, widths)], [[c.ljust(w) for c, w in zip(r, widths)] for r in rows],
            widths)


_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "^": r"\^{}", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "\\": r"\textbackslash{}", "<": r"\ensuremath{<}",
                  ">": r"\ensuremath{>}"}


def summary_tables(labels: Sequence[str], results: Sequence[list[Score]], bins: list[tuple[float, float]],
                   title: str = "") -> str:
    """kapture-localization's table of the bins over all inputs, as tabulate writes it: a LaTeX tabular, then
    the same in plain text (tabulate's 'simple' layout); headers are the bins as (metres, degrees)."""
    headers = [title] + [str(b) for b in bins]
    rows = [[label] + _bin_cells(scores, bins) for label, scores in zip(labels, results)]
    head, body, widths = _aligned(headers, rows)

    def latex_row(cells: list[str]) -> str:
        return ("&".join("".join(_LATEX_ESCAPES.get(ch, ch) for ch in f" {c} ") for c in cells) + "\\\\").rstrip()

    latex = ["\\begin{tabular}{" + "l" * len(headers) + "}", "\\hline", latex_row(head), "\\hline",
             *(latex_row(r) for r in body), "\\hline", "\\end{tabular}"]
    plain = ["  ".join(head).rstrip(), "  ".join("-" * w for w in widths).rstrip(),
             *("  ".join(r).rstrip() for r in body)]
    return "\n" + "\n".join(latex) + "\n\n" + "\n".join(plain)
