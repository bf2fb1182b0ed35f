"""kapture_evaluate: compare the image poses of a kapture dataset with a ground-truth one, by image name."""

from __future__ import annotations

import argparse

from kapturelike.evaluation.evaluate_kapture import GROUP_BY
from kapturelike.evaluation.evaluate_kapture import main as evaluate_kapture
from kapturelike.evaluation.metrics import DEFAULT_THRESHOLDS
from kapturelike.evaluation.report import format_table
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
    parser = make_parser("kapture_evaluate", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset of estimated poses")
    parser.add_argument("--gt", required=True, help="kapture dataset of ground-truth poses (rigs allowed)")
    parser.add_argument("-o", "--output", required=True, help="folder for results.json, results.txt, errors.png")
    parser.add_argument("--thresholds", nargs="+", type=threshold, metavar="METRES,DEGREES",
                        default=list(DEFAULT_THRESHOLDS), help="accuracy bins (default: 0.25,2 0.5,5 5,10)")
    parser.add_argument("--group-by", choices=GROUP_BY, default="camera", help="per-group breakdown")
    return parser


def action(args: argparse.Namespace) -> int:
    result = evaluate_kapture(args.input, args.gt, args.output, args.thresholds, args.group_by)
    print(format_table(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
