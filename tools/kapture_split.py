"""Cut a kapture dataset in two by a list of image names (e.g. query / mapping)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kapturelike.dataset_tools import SplitOptions, split
from kapturelike.tools.cli import make_parser, run


def read_names(path: str) -> set[str]:
    """First whitespace-separated field of each non-comment line (so an exported image list works)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")}


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("kapture_split", description=__doc__)
    parser.add_argument("-i", "--input", required=True, help="kapture dataset folder")
    parser.add_argument("--images", required=True, help="file listing the images of the first part")
    parser.add_argument("-o", "--output", required=True, help="folder of the listed images' part")
    parser.add_argument("--rest", required=True, help="folder of the other images' part")
    parser.add_argument("--copy", action="store_true", help="copy record files instead of symlinking them")
    parser.add_argument("-f", "--force", action="store_true", help="write into non-empty output folders")

    def action(args: argparse.Namespace) -> None:
        a, b = split(args.input, read_names(args.images), args.output, args.rest,
                     SplitOptions(copy=args.copy, force=args.force))
        print(f"split: {len(a.image_names())} images into {args.output}, "
              f"{len(b.image_names())} into {args.rest}")

    return run(parser, action, argv)


if __name__ == "__main__":
    sys.exit(main())
