"""kapture_export_4seasons_pairs: accepts the flags of kapture's tool of this name; not offered here: the
4Seasons relocalization pairs format is not implemented here."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_export_4seasons_pairs", __doc__)
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("-i", "--input", required=True, help="input kapture dataset folder")
    parser.add_argument("-p", "--pairs", required=True, help="pairs file")
    parser.add_argument("--no_heal", action="store_true", help="do not heal the pairs")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("the 4Seasons relocalization pairs format is not implemented here")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
