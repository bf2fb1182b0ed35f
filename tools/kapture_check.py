"""Validate a kapture dataset and list every problem (file, line, field).

Errors make the exit status 1. Warnings (quirks of published data that kapture reads leniently:
unknown devices, rigs naming absent sensors, non-unit quaternions, missing version lines...) are
listed and leave the exit status 0, unless ``--strict`` counts them as errors.
"""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools import check_kapture
from kapturelike.errors import FormatWarning
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, one_line, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_check", __doc__)
    flags.add_verbosity(parser)
    flags.add_input(parser, flags=("-i", "--input", "-k", "--kapture"), what="kapture dataset folder")
    parser.add_argument("--strict", action="store_true", help="count warnings as errors (exit 1)")
    return parser


def action(args: argparse.Namespace) -> int:
    problems = check_kapture(args.input)
    warnings = [p for p in problems if isinstance(p, FormatWarning)]
    errors = [p for p in problems if not isinstance(p, FormatWarning)]
    for problem in problems:
        print(("warning: " if isinstance(problem, FormatWarning) else "") + one_line(problem))
    if not problems:
        print("ok: no problem found")
    else:
        print(f"{len(errors)} error(s), {len(warnings)} warning(s) found")
    return 1 if errors or (args.strict and warnings) else 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
