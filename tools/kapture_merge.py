"""Merge kapture datasets (sensors, rigs, poses, records, features, matches, points and observations).

Sensors and rigs are renamed sensor0, sensor1, ..., rig0, ... in input order, as kapture does, unless
--keep-sensor-ids.
Images are not transferred unless --image_transfer says how (kapture's default: skip).
"""

from __future__ import annotations

import argparse

from kapturelike.dataset_tools import MergeOptions, merge
from kapturelike.dataset_tools.merge import SKIPPABLE
from kapturelike.tools import flags
from kapturelike.tools.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_merge", __doc__)
    flags.add_verbosity(parser)
    parser.add_argument("-i", "--inputs", required=True, nargs="+", help="kapture dataset folders")
    flags.add_output(parser, what="kapture dataset folder to create")
    parser.add_argument("--keep-sensor-ids", action="store_true",
                        help="keep sensor and rig ids (default: renamed sensor0, sensor1, ..., rig0, ... as kapture "
                             "does); an id two inputs use for different devices gets a suffix _1, _2, ...")
    flags.add_image_transfer(parser, default="skip")
    flags.add_force(parser)
    parser.add_argument("-s", "--skip", nargs="+", choices=SKIPPABLE, default=[], help="parts to leave out")
    parser.add_argument("--copy", action="store_true", help="copy images (same as --image_transfer copy)")
    return parser


def action(args: argparse.Namespace) -> None:
    transfer = "copy" if args.copy else args.image_transfer
    k = merge(args.inputs, args.output, MergeOptions(image_transfer=transfer, force=args.force, skip=tuple(args.skip),
                                                   keep_sensor_ids=args.keep_sensor_ids))
    print(f"merged {len(args.inputs)} datasets: {len(k.sensors)} sensors, {len(k.image_names())} images "
          f"into {args.output}")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
