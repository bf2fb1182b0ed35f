"""Exceptions with the file, line and field that went wrong, so a user can fix the input."""

from __future__ import annotations

import re
from pathlib import Path


class KapturelikeError(Exception):
    """Base class of every error kapturelike raises on purpose."""


_LONG_QUOTE = re.compile(r"'([^'\n]{80,})'")


def _cut_quote(match: re.Match) -> str:
    value = match.group(1)
    return f"'{value[:70]}...' ({len(value)} characters)"


class FormatError(KapturelikeError, ValueError):
    """Malformed kapture data: names the file, the 1-based line number and the field."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None):
        message = _LONG_QUOTE.sub(_cut_quote, message)  # a 2 MB bad value must not make a 2 MB error line
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class FormatWarning(FormatError):
    """A quirk of real published data that kapture reads leniently: the data is kept, the quirk is reported
    (file, line, field) as a warning; ``kapture_check --strict`` counts it as an error."""


class MissingDataError(KapturelikeError, FileNotFoundError):
    """A file the data refers to (image, feature file) does not exist."""
