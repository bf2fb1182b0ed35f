"""kapture_extract_exif: accepts the flags of kapture's tool of this name; not offered here: reading EXIF tags
needs Pillow, which kapturelike does not depend on."""

from __future__ import annotations

import argparse

from kapturelike.tools import flags
from kapturelike.tools.cli import ToolUnavailable, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_extract_exif", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--input", "--kapture", required=True, help="input kapture dataset folder")
    return parser


def action(args: argparse.Namespace) -> int | None:
    raise ToolUnavailable("reading EXIF tags needs Pillow, which kapturelike does not depend on")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
