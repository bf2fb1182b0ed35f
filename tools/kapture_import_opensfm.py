"""Import an OpenSfM reconstruction.json (first reconstruction) into a kapture dataset."""

from __future__ import annotations

import argparse

from kapturelike.converters.opensfm import import_opensfm
from kapturelike.tools.cli import make_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_import_opensfm", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="reconstruction.json")
    parser.add_argument("-o", "--output", required=True, help="kapture dataset folder to write")

    def action(args: argparse.Namespace) -> None:
        k = import_opensfm(args.input, args.output)
        print(f"{len(k.image_names())} shots -> {args.output}")

    return run(parser, action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
