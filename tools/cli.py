"""Shared front end of the tools: parse, run one library call, report an error in one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from kapturelike.errors import KapturelikeError

MAX_LINE = 400  # an error quoting a huge value stays one readable line


def one_line(error: BaseException) -> str:
    line = " ".join(str(error).split()) or type(error).__name__
    return line if len(line) <= MAX_LINE else f"{line[:MAX_LINE - 20]}... ({len(line)} characters)"


def run(parser: argparse.ArgumentParser, action: Callable[[argparse.Namespace], int | None],
        argv: list[str] | None = None) -> int:
    """Exit code of ``action(args)``: 0 (or its own code), 1 on a kapturelike, OS or value error
    (printed as ``error: <message>`` on stderr) and on any other error (``error: internal error (<type>):
    <message>``, one line too), 2 on bad arguments (argparse's message), 130 on Ctrl-C."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 2 on bad arguments, 0 for --help
        return e.code if isinstance(e.code, int) else 2
    try:
        code = action(args)
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
