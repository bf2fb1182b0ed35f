"""kapture_evaluate_retrieval: pose hit rate@k of a pairs file against ground-truth poses."""

from __future__ import annotations

import argparse
import json

from kapturelike.pipelines.pairs_files import evaluate_pairs_file
from kapturelike.retrieval.evaluate import DEFAULT_KS, format_evaluation
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_evaluate_retrieval", description=__doc__)
    parser.add_argument("--pairs", "--pairsfile-path", dest="pairs", required=True,
                        help="pairs file: 'query_image, map_image, score' lines")
    parser.add_argument("--mapping", required=True, help="kapture dataset of the map images, with poses")
    parser.add_argument("--query", required=True, help="kapture dataset of the query images, with ground-truth poses")
    parser.add_argument("--max-distance", type=float, default=5.0,
                        help="a map image is relevant within this distance of the query's centre (default: 5)")
    parser.add_argument("--max-angle", type=float, default=45.0,
                        help="... and this angle in degrees of its viewing direction (default: 45)")
    parser.add_argument("-k", "--ks", type=int, nargs="+", default=list(DEFAULT_KS),
                        help=f"ranks at which the hit rate is given (default: {' '.join(map(str, DEFAULT_KS))})")
    parser.add_argument("--json", help="also write the results to this JSON file")
    flags.add_verbosity(parser)
    return parser


def action(args: argparse.Namespace) -> int:
    evaluation = evaluate_pairs_file(args.pairs, args.mapping, args.query, args.max_distance, args.max_angle,
                                          args.ks)
    print(format_evaluation(evaluation))
    if args.json:
        hit = evaluation.pose_hit_rate
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"ks": [int(k) for k in evaluation.ks], "num_queries": int(evaluation.num_queries),
                       "max_distance": args.max_distance,
                       "max_angle": args.max_angle,
                       "pose_hit_rate": None if hit is None else [float(x) for x in hit]}, f, indent=2)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
