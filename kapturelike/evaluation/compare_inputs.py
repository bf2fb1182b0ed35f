"""kapture_evaluate's job, for one or several inputs: the images to evaluate, each input's errors, and
kapture-localization's files (scores_<label>.txt, stats.txt with the table over all inputs, plot.png)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.evaluation.kapture_stats import evaluate_images, refuse_existing, write_kapture_evaluation
from kapturelike.evaluation.threshold_plot import PlotOptions, write_plot
from kapturelike.io.dataset import load_kapture
from kapturelike.io.text import data_rows, read_lines

DEFAULT_BINS = ("0.25 2", "0.5 5", "5 10")
PLOT_FILE = "plot.png"

__all__ = ["PlotOptions", "evaluate_inputs", "images_to_evaluate"]


def images_to_evaluate(ground_truth: Kapture, image_list: str | Path | None = None) -> set[str]:
    """The first column of ``image_list``, or, as kapture-localization's kapture_evaluate, every image of the
    ground truth's camera records, posed or not (an unposed one counts as not found unless an input
    localizes it, which is an error: see ``kapture_stats.evaluate_images``)."""
    if image_list:
        return {fields[0] for _, fields in data_rows(read_lines(image_list, require_version=False)[1])}
    return set(ground_truth.image_names())


def evaluate_inputs(inputs: Sequence[str | Path], labels: Sequence[str], ground_truth: str | Path,
                    output: str | Path, bins: Sequence[str] = DEFAULT_BINS, image_list: str | Path | None = None,
                    plot: PlotOptions | None = None, force: bool = False) -> str | None:
    """Write the evaluation of ``inputs`` against ``ground_truth`` into ``output``; the stats text (None when
    there is no image to evaluate)."""
    if len(labels) != len(inputs):
        raise ValueError(f"{len(labels)} labels for {len(inputs)} inputs")
    refuse_existing(output, labels, force)
    plot = plot or PlotOptions()
    gt = load_kapture(ground_truth)
    images = images_to_evaluate(gt, image_list)
    if not images:
        return None
    results = [evaluate_images(load_kapture(path), gt, images) for path in inputs]
    text = write_kapture_evaluation(output, labels, results, bins, force=True, title=plot.title)
    write_plot(Path(output) / PLOT_FILE, labels, results, plot)
    return text
