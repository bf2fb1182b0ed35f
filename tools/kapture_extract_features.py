"""kapture_extract_features: local features (keypoints and descriptors) of every image of a kapture dataset."""

from __future__ import annotations

import argparse
import sys

from kapturelike.pipelines.config import load_config
from kapturelike.pipelines.extract_features import main as extract_local
from kapturelike.pipelines.steps import StepReport
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_extract_features", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset")
    parser.add_argument("-o", "--output", help="kapture dataset to write features to (default: the input; "
                                               "a new folder gets the input's sensors and a link to its images)")
    parser.add_argument("--config", help="YAML configuration (its features section is used)")
    parser.add_argument("--local", help="local feature type, overriding the configuration (e.g. sift)")
    parser.add_argument("--overwrite", action="store_true", help="recompute features that exist")
    flags.add_verbosity(parser)
    return parser


def print_reports(reports: list[StepReport], max_failures: int = 10) -> int:
    """Each report's summary line, then its first failures on stderr; 1 when anything failed."""
    failed = 0
    for report in reports:
        print(report.summary())
        for item, reason in list(report.failures.items())[:max_failures]:
            print(f"failed: {item}: {' '.join(reason.split())}", file=sys.stderr)
        failed += len(report.failures)
    return 1 if failed else 0


def action(args: argparse.Namespace) -> int:
    config = load_config(args.config, {"features": {"local": args.local}} if args.local else None)
    return print_reports([extract_local(args.input, args.output, config, overwrite=args.overwrite)])


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
