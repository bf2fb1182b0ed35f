"""The parser pieces every dataset importer shares, built on the shared flags (``tools/flags.py``)."""

from __future__ import annotations

import argparse
import logging

from kapturelike.core.reconstruction import Kapture
from kapturelike.importers.common import TransferAction
from kapturelike.tools import flags
from kapturelike.tools.cli import configure_logging as configure_cli_logging
from kapturelike.tools.cli import make_parser


def importer_parser(prog: str, description: str | None,
                    force_flags: tuple[str, ...] = ("-f", "-y", "--force")) -> argparse.ArgumentParser:
    """A parser with kapture's -v/-q and -f/-y/--force."""
    parser = make_parser(prog, description, formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add_verbosity(parser)
    flags.add_force(parser, force_flags)
    return parser


def add_input_output(parser: argparse.ArgumentParser, input_help: str) -> None:
    flags.add_input(parser, what=input_help)
    flags.add_output(parser, what="output kapture folder")


def add_image_transfer(parser: argparse.ArgumentParser, default: TransferAction,
                       option_strings: tuple[str, ...] = ("--image_transfer",), dest: str = "image_transfer") -> None:
    flags.add_image_transfer(parser, default=TransferAction(default).value, flags=option_strings, dest=dest)


def configure_logging(args: argparse.Namespace) -> bool:
    """Apply -v/-q; True when progress bars are to be shown (not with -q)."""
    configure_cli_logging(args.verbose)
    return args.verbose < logging.CRITICAL


def report(result: Kapture | dict[str, Kapture], output: str) -> None:
    """One line saying what was imported, and where."""
    if isinstance(result, dict):
        images = sum(len(k.records.get("camera", ())) for k in result.values())
        print(f"{len(result)} kaptures ({images} images) -> {output}")
        return
    parts = [f"{len(result.records.get('camera', ()))} images",
             f"{0 if result.trajectories is None else len(result.trajectories)} poses"]
    parts += [f"{len(r)} {kind} records" for kind, r in result.records.items() if kind != "camera"]
    print(f"{', '.join(parts)} -> {output}")
