"""The one skeleton of every tool: a parser builder, one action, ``main(argv)``, errors in one line.

A tool module looks like::

    def build_parser() -> argparse.ArgumentParser:
        parser = make_parser("kapture_xxx", __doc__)
        flags.add_verbosity(parser)
        ...
        return parser

    def action(args: argparse.Namespace) -> int | None: ...

    def main(argv: list[str] | None = None) -> int:
        return run(build_parser(), action, argv)

Parsers never match a flag by prefix (``allow_abbrev=False``): kapture's multi-letter short flags
(``-ow``, ``-im``, ``-kpt``) must be read as themselves, never as an abbreviation or as a one-letter
flag with a glued value.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import NoReturn

from kapturelike.errors import KapturelikeError

logger = logging.getLogger("kapturelike")


class ToolUnavailable(KapturelikeError):
    """The tool exists for compatibility but cannot do its job here (the message says why)."""


class ToolParser(argparse.ArgumentParser):
    """argparse with kapture's flag rules and a one-line error message."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def make_parser(prog: str, description: str | None = None, **kwargs) -> ToolParser:
    """The parser of the tool ``prog``; the first paragraph of ``description`` is its help text."""
    return ToolParser(prog=prog, description=description, **kwargs)


MAX_LINE = 400  # an error quoting a huge value stays one readable line


def one_line(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else str(error)
    line = " ".join(text.split()) or type(error).__name__
    return line if len(line) <= MAX_LINE else f"{line[:MAX_LINE - 20]}... ({len(line)} characters)"


def configure_logging(level: int | None) -> None:
    """Show kapturelike's messages at ``level`` (kapture's ``-v``/``-q`` value) on stderr."""
    level = logging.WARNING if level is None else level
    handler = next((h for h in logger.handlers if getattr(h, "_kapturelike_cli", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handler._kapturelike_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    handler.stream = sys.stderr  # follow a redirected stderr (tests capture it)
    logger.setLevel(level)


def run(parser: argparse.ArgumentParser, action: Callable[[argparse.Namespace], int | None],
        argv: list[str] | None = None) -> int:
    """Exit code of ``action(args)``: 0 (or its own code), 1 on a kapturelike, OS or value error
    (printed as ``error: <message>`` on one line of stderr) and on any other error (``error: internal
    error (<type>): <message>``, one line too), 2 on bad arguments, 3 when the tool cannot be offered
    here (``ToolUnavailable``), 130 on Ctrl-C."""
    try:
        if getattr(parser, "passes_unknown_to_colmap", False):
            # kapture's COLMAP tools hand unknown options (--Mapper.ba_refine_focal_length 0) to COLMAP
            args, unknown = parser.parse_known_args(argv)
            if getattr(parser, "reads_colmap_options", False):
                args.colmap_options = unknown  # the tool applies what it can and says what it does not
            elif unknown:
                print(f"{parser.prog}: note: {' '.join(unknown)}: options for the COLMAP executable, not used",
                      file=sys.stderr)
        else:
            args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 2 on bad arguments, 0 for --help
        return e.code if isinstance(e.code, int) else 2
    configure_logging(getattr(args, "verbose", None))
    try:
        code = action(args)
    except ToolUnavailable as e:
        print(f"error: {parser.prog} is not available here: {one_line(e)}", file=sys.stderr)
        return 3
    except (KapturelikeError, OSError, ValueError) as e:  # bad input: one line, no traceback
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 -- a bug, still one line; the word "internal" tells them apart
        print(f"error: internal error ({type(e).__name__}): {one_line(e)}", file=sys.stderr)
        return 1
    return int(code or 0)


def note_ignored(parser: argparse.ArgumentParser, args: argparse.Namespace, dests: list[str]) -> None:
    """One line on stderr for each of kapture's flags given here that this tool accepts but does not apply."""
    for action in parser._actions:
        if action.dest in dests and getattr(args, action.dest, action.default) != action.default:
            print(f"{parser.prog}: note: {'/'.join(action.option_strings)} is accepted for kapture compatibility "
                  "and not applied", file=sys.stderr)
