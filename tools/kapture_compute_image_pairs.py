"""kapture_compute_image_pairs: pairs file of image retrieval from the global features of kapture datasets."""

from __future__ import annotations

import argparse

from kapturelike.io.dataset import load_kapture
from kapturelike.pipelines.pairs_files import dataset_pairs_file
from kapturelike.retrieval.expansion import ExpansionOptions
from kapturelike.retrieval.fusion import FusionMethod
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def add_kapture_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mapping", required=True, help="kapture dataset of the map images")
    parser.add_argument("--query", help="kapture dataset of the query images (default: the map, no self pairs)")
    parser.add_argument("-o", "--output", required=True, help="pairs file to write ('query, map, score' lines)")


def only_global_type(root: str) -> str:
    """kapture-localization's default global feature type: the dataset's only one."""
    types = sorted(load_kapture(root).global_features)
    if len(types) != 1:
        raise ValueError(f"{root}: give the global features type (-gfeat); the dataset has {len(types)}: "
                         f"{', '.join(types) or 'none'}")
    return types[0]


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_compute_image_pairs", description=__doc__)
    flags.add_verbosity(parser)
    add_kapture_arguments(parser)
    parser.add_argument("-gfeat", "--global-features-type", dest="global_features_type", nargs="+", default=None,
                        metavar="TYPE", help="global feature type(s); several are late-fused (default: the only one)")
    parser.add_argument("--topk", type=int, default=20, help="map images kept per query (default: 20)")
    parser.add_argument("--fusion", default="generalized_harmonic", choices=[m.value for m in FusionMethod],
                        help="late fusion operator when several types are given (default: generalized_harmonic)")
    parser.add_argument("--qe-n", type=int, default=0, help="alpha-QE: map neighbours added to each query (0: off)")
    parser.add_argument("--qe-alpha", type=float, default=3.0, help="alpha-QE weight exponent (default: 3)")
    parser.add_argument("--dba-n", type=int, default=0, help="DBA: neighbours added to each map image (0: off)")
    parser.add_argument("--dba-alpha", type=float, default=3.0, help="DBA weight exponent (default: 3)")
    return parser


def action(args: argparse.Namespace) -> int:
    expansion = ExpansionOptions(qe_neighbors=args.qe_n, qe_alpha=args.qe_alpha, dba_neighbors=args.dba_n,
                                 dba_alpha=args.dba_alpha)  # validates the values even when both are off
    types = args.global_features_type or [only_global_type(args.mapping)]
    pairs = dataset_pairs_file(args.mapping, args.output, args.query, types, args.topk, args.fusion,
                          expansion if args.qe_n or args.dba_n else None)
    print(f"{len(pairs)} pairs written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
