"""Localize each query image in a local COLMAP model (kapture-localization's kapture_colmap_localize_localsfm,
done with pycolmap): the map images paired with the query are triangulated with their known poses from their
verified matches (--map_plus_query_gv), then the query is registered into that model through its verified
matches (kapture-localization's image_registrator settings: 20 px, 4 inliers, ratio 0.05). Pairs without matches
are matched first (into --map_plus_query) and pairs without verified matches verified (into --map_plus_query_gv),
as kapture-localization does. -o gets OUTPUT/localized: the query with its poses, written after each query (a run
resumes; -f starts over). -desc picks the keypoints of that descriptors type."""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools.localsfm import colmap_localize_localsfm
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_colmap_localize_localsfm", __doc__)
    parser.passes_unknown_to_colmap = True
    flags.add_verbosity(parser)
    flags.add_force(parser)
    parser.add_argument("--map_plus_query", required=True, help="merged map+query kapture dataset")
    parser.add_argument("--map_plus_query_gv", required=True, help="map+query dataset, verified matches")
    parser.add_argument("--query", required=True, help="query kapture dataset folder")
    parser.add_argument("-o", "--output", required=True, help="output folder or file")
    flags.add_colmap_binary(parser)
    flags.add_pairsfile_path(parser, required=False)
    flags.add_descriptors_type(parser)
    return parser


def action(args: argparse.Namespace) -> None:
    found = colmap_localize_localsfm(args.map_plus_query, args.map_plus_query_gv, args.query, args.output,
                                     args.pairsfile_path, args.descriptors_type, args.force)
    print(f"{len(found)} query image(s) localized -> {args.output}/localized")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
