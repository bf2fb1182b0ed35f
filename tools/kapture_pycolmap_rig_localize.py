"""kapture_pycolmap_rig_localize: accepts the flags of kapture's tool of this name; not offered here: this
localizer is not offered; kapture_pipeline_localize localizes with pycolmap."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_pycolmap_rig_localize", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    flags.add_localizer_io(parser)
    flags.add_rig_localization(parser)
    flags.add_pycolmap_ransac(parser, max_error=12.0)
    parser.add_argument("--keypoints-type", help="keypoints type")
    flags.add_correspondence_strategies(parser)
    parser.add_argument("--write-detailed-report", action="store_true", help="write a report per query")
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("this localizer is not offered; kapture_pipeline_localize localizes with pycolmap")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
