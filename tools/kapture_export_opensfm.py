"""Export a kapture dataset to an OpenSfM reconstruction.json."""

from __future__ import annotations

import argparse

from kapturelike.converters.opensfm import export_opensfm
from kapturelike.io.dataset import load_kapture
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_export_opensfm", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="reconstruction.json to write")
    parser.add_argument("--approximate", action="store_true", help="replace cameras OpenSfM cannot hold")

    def action(args: argparse.Namespace) -> None:
        doc = export_opensfm(load_kapture(args.input), args.output, args.approximate)
        print(f"{len(doc[0]['shots'])} shots -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
