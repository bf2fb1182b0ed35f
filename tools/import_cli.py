"""Flags shared by the dataset importers, with kapture's names, defaults and meanings."""

from __future__ import annotations

import argparse
import logging

from kapturelike.importers.common import TransferAction

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
          "critical": logging.CRITICAL}


def verbosity(value: str) -> int:
    """kapture's -v value: a level name (debug, info, ...) or a number."""
    if value.lower() in LEVELS:
        return LEVELS[value.lower()]
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown verbosity '{value}' (use {', '.join(LEVELS)} or a number)") from None


def importer_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A parser with kapture's -v/-q and -f/-y/--force; abbreviations off (kapture's short flags)."""
    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", nargs="?", type=verbosity, default=logging.WARNING, const=logging.INFO,
                       help="verbosity level (debug, info, warning, critical, ... or int value) [warning]")
    group.add_argument("-q", "--silent", "--quiet", action="store_const", dest="verbose", const=logging.CRITICAL,
                       help="no progress bars, errors only")
    parser.add_argument("-f", "-y", "--force", action="store_true", default=False,
                        help="overwrite the kapture files of a previous import")
    return parser


def add_input_output(parser: argparse.ArgumentParser, input_help: str) -> None:
    parser.add_argument("-i", "--input", required=True, help=input_help)
    parser.add_argument("-o", "--output", required=True, help="output kapture folder")


def add_image_transfer(parser: argparse.ArgumentParser, default: TransferAction,
                       flags: tuple[str, ...] = ("--image_transfer",)) -> None:
    parser.add_argument(*flags, dest="image_transfer", type=TransferAction, default=default,
                        choices=list(TransferAction), metavar="ACTION",
                        help=f"how to import images [{default.value}], choose among: "
                             f"{', '.join(a.value for a in TransferAction)}")


def configure_logging(args: argparse.Namespace) -> bool:
    """Apply -v/-q; True when progress bars are to be shown (not with -q)."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kapturelike").setLevel(args.verbose)
    return args.verbose < logging.CRITICAL
