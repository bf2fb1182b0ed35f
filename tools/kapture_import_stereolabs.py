"""Import a Stereolabs ZED recording (svo file and/or imu csv). The .svo part needs Stereolabs'
proprietary pyzed, which kapturelike does not use: it says so in one line (exit 3); the IMU csv alone
(-u) is imported as accelerometer and gyroscope records."""

from __future__ import annotations

import argparse

from kapturelike.importers.stereolabs import SVO_NEEDS, import_stereolabs_imu
from kapturelike.tools.cli import ToolUnavailable, run
from kapturelike.tools.import_cli import configure_logging, importer_parser, report


def build_parser() -> argparse.ArgumentParser:
    parser = importer_parser("kapture_import_stereolabs", __doc__)
    parser.add_argument("-s", "--svo", help="input svo file (needs pyzed: not supported)")
    parser.add_argument("-u", "--imu", help="input imu csv file")
    parser.add_argument("-c", "--calib", help="calibration folder, if not the conventional one (svo only)")
    parser.add_argument("-o", "--output", required=True, help="output kapture folder")
    return parser


def action(args: argparse.Namespace) -> None:
    configure_logging(args)
    if args.svo or not args.imu:
        raise ToolUnavailable(SVO_NEEDS)
    k = import_stereolabs_imu(args.imu, args.output, args.force)
    report(k, args.output)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
