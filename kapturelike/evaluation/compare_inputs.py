"""kapture_evaluate's job, for one or several inputs: the images to evaluate, each input's errors, and
kapture-localization's files (scores_<label>.txt, stats.txt with the table over all inputs, plot.png)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.evaluation.kapture_stats import evaluate_images, refuse_existing, write_kapture_evaluation
from kapturelike.evaluation.threshold_plot import write_plot
from kapturelike.io.dataset import load_kapture
from kapturelike.io.text import data_rows, read_lines

DEFAULT_BINS = ("0.25 2", "0.5 5", "5 10")
PLOT_FILE = "plot.png"


@dataclass(frozen=True)
class PlotOptions:
    rotation_threshold: float = -1.0  # degrees; negative: position only
    plot_max: int = 100  # cm
    title: str = ""


def images_to_evaluate(ground_truth: Kapture, image_list: str | Path | None = None) -> set[str]:
    """The first column of ``image_list``, or every ground-truth image with a pose (own or through its rig)."""
    if image_list:
        return {fields[0] for _, fields in data_rows(read_lines(image_list, require_version=False)[1])}
    posed = set(ground_truth.trajectories.keys()) if ground_truth.trajectories is not None else set()
    rigs = ground_truth.rigs or {}
    return {n for n, key in ground_truth.image_keys().items()
            if key in posed or any((key[0], r) in posed for r in rigs if key[1] in rigs[r])}


def evaluate_inputs(inputs: Sequence[str | Path], labels: Sequence[str], ground_truth: str | Path,
                    output: str | Path, bins: Sequence[str] = DEFAULT_BINS, image_list: str | Path | None = None,
                    plot: PlotOptions = PlotOptions(), force: bool = False) -> str | None:
    """Write the evaluation of ``inputs`` against ``ground_truth`` into ``output``; the stats text (None when
    the ground truth has no posed image)."""
    if len(labels) != len(inputs):
        raise ValueError(f"{len(labels)} labels for {len(inputs)} inputs")
    refuse_existing(output, labels, force)
    gt = load_kapture(ground_truth)
    images = images_to_evaluate(gt, image_list)
    if not images:
        return None
    results = [evaluate_images(load_kapture(path), gt, images) for path in inputs]
    text = write_kapture_evaluation(output, labels, results, bins, force=True, title=plot.title)
    write_plot(Path(output) / PLOT_FILE, labels, results, plot.rotation_threshold, plot.plot_max, plot.title)
    return text
