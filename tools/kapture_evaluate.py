"""Evaluate image poses against a ground truth, as kapture-localization's kapture_evaluate does: for each
input, scores_<label>.txt (image, position error, rotation error) and stats.txt (images found, errors,
percentage within each --bins 'METRES DEGREES'). With one input, kapturelike's report is also written
(results.json, results.txt, errors.png: --thresholds, --group-by).
"""

from __future__ import annotations

import argparse

from kapturelike.evaluation.evaluate_kapture import GROUP_BY
from kapturelike.evaluation.evaluate_kapture import main as evaluate_kapture
from kapturelike.evaluation.kapture_stats import evaluate_images, refuse_existing, write_kapture_evaluation
from kapturelike.evaluation.metrics import DEFAULT_THRESHOLDS
from kapturelike.evaluation.report import format_table
from kapturelike.io.dataset import load_kapture
from kapturelike.io.text import data_rows, read_lines
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run

PLOT_LOCATIONS = ["best", "upper right", "upper left", "lower left", "lower right", "right", "center left",
                  "center right", "lower center", "upper center", "center"]


def threshold(text: str) -> tuple[float, float]:
    """'METRES,DEGREES' -> (metres, degrees)."""
    parts = text.split(",")
    try:
        metres, degrees = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not METRES,DEGREES (e.g. 0.25,2)") from None
    if metres < 0 or degrees < 0:
        raise argparse.ArgumentTypeError(f"'{text}': thresholds must be >= 0")
    return metres, degrees


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_evaluate", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--inputs", nargs="+", help="kapture datasets of estimated poses")
    parser.add_argument("--labels", nargs="+", default=[], help="one label per input (default: input1, ...)")
    parser.add_argument("-gt", "--ground-truth", "--gt", dest="ground_truth", required=True,
                        help="kapture dataset of ground-truth poses (rigs allowed)")
    flags.add_output(parser, what="folder for scores_*.txt and stats.txt")
    parser.add_argument("-l", "--image-list", default="",
                        help="images to evaluate, first column of each line (default: every posed ground-truth image)")
    parser.add_argument("--bins", nargs="+", default=["0.25 2", "0.5 5", "5 10"],
                        help="'METRES DEGREES' accuracy bins of stats.txt (default: '0.25 2' '0.5 5' '5 10')")
    parser.add_argument("-p", "--plot-rotation-threshold", type=float, default=-1,
                        help="accepted for kapture compatibility (no plot is drawn)")
    parser.add_argument("--plot-max", type=int, default=100, help="accepted for kapture compatibility")
    parser.add_argument("--plot-title", default="", help="title of the summary table of several inputs")
    parser.add_argument("--plot-loc", choices=PLOT_LOCATIONS, default="best", help="accepted for kapture compatibility")
    parser.add_argument("--plot-font-size", type=int, default=15, help="accepted for kapture compatibility")
    parser.add_argument("--plot-legend-font-size", type=int, default=8, help="accepted for kapture compatibility")
    flags.add_force(parser)
    parser.add_argument("--thresholds", nargs="+", type=threshold, metavar="METRES,DEGREES",
                        default=list(DEFAULT_THRESHOLDS), help="kapturelike's report bins (default: 0.25,2 0.5,5 5,10)")
    parser.add_argument("--group-by", choices=GROUP_BY, default="camera", help="kapturelike's per-group breakdown")
    return parser


def action(args: argparse.Namespace) -> int:
    if not args.inputs:
        raise ValueError("no input to evaluate (-i)")
    labels = args.labels or [f"input{i}" for i in range(1, len(args.inputs) + 1)]
    if len(labels) != len(args.inputs):
        raise ValueError(f"{len(labels)} labels for {len(args.inputs)} inputs")
    refuse_existing(args.output, labels, args.force)  # before anything is written
    if len(args.inputs) == 1:  # kapturelike's report first: it names mismatched inputs clearly
        print(format_table(evaluate_kapture(args.inputs[0], args.ground_truth, args.output, args.thresholds,
                                            args.group_by)))
    gt = load_kapture(args.ground_truth)
    if args.image_list:
        images = {fields[0] for _, fields in data_rows(read_lines(args.image_list, require_version=False)[1])}
    else:
        posed = set(gt.trajectories.keys()) if gt.trajectories is not None else set()
        images = {n for n, key in gt.image_keys().items()
                  if key in posed or (gt.rigs and any((key[0], r) in posed for r in gt.rigs if key[1] in gt.rigs[r]))}
    if not images:
        print("no image to evaluate: the ground truth has no posed image")
        return 0
    results = [evaluate_images(load_kapture(path), gt, images) for path in args.inputs]
    print(write_kapture_evaluation(args.output, labels, results, args.bins, force=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
