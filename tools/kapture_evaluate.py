"""Evaluate image poses against a ground truth, as kapture-localization's kapture_evaluate does: for each
input, scores_<label>.txt (image, position error, rotation error) and stats.txt (images found, errors,
percentage within each --bins 'METRES DEGREES'; with several inputs, kapture-localization's table over
them) and plot.png (images localized within each position threshold, per input; --plot-loc places the legend,
--plot-font-size / --plot-legend-font-size size the text). With one input,
kapturelike's report is also written (results.json, results.txt, errors.png: --thresholds, --group-by).
"""

from __future__ import annotations

import argparse

from kapturelike.evaluation.compare_inputs import PlotOptions, evaluate_inputs
from kapturelike.evaluation.evaluate_kapture import GROUP_BY
from kapturelike.evaluation.evaluate_kapture import main as evaluate_kapture
from kapturelike.evaluation.kapture_stats import refuse_existing
from kapturelike.evaluation.metrics import DEFAULT_THRESHOLDS
from kapturelike.evaluation.report import format_table
from kapturelike.evaluation.threshold_plot import LEGEND_LOCATIONS
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


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
                        help="images to evaluate, first column of each line (default: every image of the ground "
                             "truth's camera records; one without a ground-truth pose counts as not found)")
    parser.add_argument("--bins", nargs="+", default=["0.25 2", "0.5 5", "5 10"],
                        help="'METRES DEGREES' accuracy bins of stats.txt (default: '0.25 2' '0.5 5' '5 10')")
    parser.add_argument("-p", "--plot-rotation-threshold", type=float, default=-1,
                        help="rotation threshold (degrees) of plot.png's curves; negative: position only")
    parser.add_argument("--plot-max", type=int, default=100, help="largest position threshold of plot.png (cm)")
    parser.add_argument("--plot-title", default="", help="title of plot.png and of the table over several inputs")
    parser.add_argument("--plot-loc", choices=list(LEGEND_LOCATIONS), default="best",
                        help="where plot.png's legend goes (matplotlib's legend locations; best: where the curves "
                             "cross it least)")
    parser.add_argument("--plot-font-size", type=int, default=15,
                        help="font size of plot.png's title, axis and tick labels, in points (matplotlib's)")
    parser.add_argument("--plot-legend-font-size", type=int, default=8,
                        help="font size of plot.png's legend, in points")
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
    plot = PlotOptions(args.plot_rotation_threshold, args.plot_max, args.plot_title, args.plot_loc,
                       args.plot_font_size, args.plot_legend_font_size)
    text = evaluate_inputs(args.inputs, labels, args.ground_truth, args.output, args.bins, args.image_list or None,
                           plot, force=True)
    print(text if text is not None else "no image to evaluate: the ground truth records no image (or -l lists none)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
