"""Low-level text tables of the kapture format: reading lines, writing rows, atomic files.

kapture's text files are comma-separated rows; a line whose first character is '#' is a
comment; blank lines are skipped; fields are stripped; there is no quoting, so a value holding a
comma (or a line break) cannot be stored and is refused. The first line of every kapture file is
the version header ``# kapture format: 1.1``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from kapturelike.errors import FormatError, FormatWarning

logger = logging.getLogger("kapturelike.io")

CURRENT_VERSION = "1.1"
SUPPORTED_VERSIONS = ("1.0", "1.1")
VERSION_HEADER = f"# kapture format: {CURRENT_VERSION}"
_VERSION_RE = re.compile(r"#\s*kapture format\s*:\s*(\d+\.\d+)")

ErrorHandler = Callable[[FormatError], None] | None


def raise_error(error: FormatError) -> None:
    raise error


def report(on_error: ErrorHandler, error: FormatError) -> None:
    """Hand the problem to ``on_error`` (which collects problems and lets parsing go on); without a
    handler, raise an error and log a warning (``FormatWarning``: the data is kept)."""
    if on_error is None and isinstance(error, FormatWarning):
        logger.warning(str(error))
        return
    (on_error or raise_error)(error)


def version_of(first_line: str) -> str | None:
    m = _VERSION_RE.match(first_line.strip())
    return m.group(1) if m else None


def read_text(path: str | Path, require_version: bool = True,
              on_error: ErrorHandler = None) -> tuple[str | None, str]:
    """The file's version and its whole text, UTF-8."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    version = version_of(text[:text.find("\n")] if "\n" in text else text)
    check_version(path, version, require_version, on_error, empty=not text)
    return version, text


def check_version(path: Path, version: str | None, require_version: bool, on_error: ErrorHandler = None,
                  empty: bool = False) -> None:
    """An unsupported version is an error; a missing version line (or an empty file) is read as kapture
    reads it, as the current version, with a warning."""
    if require_version:
        if version is None:
            what = "empty file" if empty else "no version line '# kapture format: 1.1' as first line"
            report(on_error, FormatWarning(f"{what}: read as format {CURRENT_VERSION}", path, 1, "version"))
        elif version not in SUPPORTED_VERSIONS:
            raise FormatError(f"unsupported kapture format version {version} (supported: "
                              f"{', '.join(SUPPORTED_VERSIONS)})", path, 1, "version")


def split_lines(text: str) -> list[str]:
    """Line i of the text is ``lines[i - 1]``."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    return lines


def read_lines(path: str | Path, require_version: bool = True,
               on_error: ErrorHandler = None) -> tuple[str | None, list[str]]:
    """The file's version and its lines (line i of the file is ``lines[i - 1]``), UTF-8."""
    version, text = read_text(path, require_version, on_error)
    return version, split_lines(text)


def data_rows(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, stripped fields) of every data line."""
    for number, line in enumerate(lines, 1):
        if not line or line[0] == "#" or not line.strip():
            continue
        yield number, [f.strip() for f in line.split(",")]


def check_field(value: str, path: str | Path | None, field: str, line: int | None = None) -> str:
    """Refuse a value kapture cannot store or would misread (comma, line break)."""
    if "," in value or "\n" in value or "\r" in value:
        raise FormatError(f"value {value!r} holds a comma or a line break, which the kapture format cannot "
                          "store (it has no quoting)", path, line, field)
    if value != value.strip():
        raise FormatError(f"value {value!r} has leading or trailing spaces, which kapture strips on reading",
                          path, line, field)
    return value


def check_column(values: list[str], path: str | Path | None, field: str) -> None:
    """``check_field`` on a whole column, with C-level scans; the per-value check only runs to name a bad one."""
    joined = "\0".join(values)
    if ("," in joined or "\n" in joined or "\r" in joined
            or not all(map(str.__eq__, values, map(str.strip, values)))):
        for value in values:
            check_field(value, path, field)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding="utf-8", newline="") if "b" not in mode else os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def format_rows(rows: Iterable[list[str]], padding: list[int] | None = None) -> Iterator[str]:
    if padding:
        for row in rows:
            yield ", ".join(v.rjust(w) for v, w in zip(row, padding)) + "\n"
    else:
        for row in rows:
            yield ", ".join(row) + "\n"


def write_table(path: str | Path, header: str, rows: Iterable[list[str]], padding: list[int] | None = None) -> None:
    """Write a kapture table (version line, column comment, rows) atomically, as kapture 1.1 writes it."""
    with atomic_write(path) as f:
        f.write(VERSION_HEADER + "\n")
        f.write(header + "\n")
        chunk: list[str] = []
        for line in format_rows(rows, padding):
            chunk.append(line)
            if len(chunk) >= 65536:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))


def write_columns(path: str | Path, header: str, columns: list[list[str]], padding: list[int] | None = None,
                  block: int = 1 << 16) -> None:
    """``write_table`` for tables given as columns of texts: each line is formatted in C, not in Python."""
    line = ", ".join(f"%{width}s" for width in padding) if padding else ", ".join(["%s"] * len(columns))
    line += "\n"
    with atomic_write(path) as f:
        f.write(VERSION_HEADER + "\n")
        f.write(header + "\n")
        for start in range(0, len(columns[0]) if columns else 0, block):
            f.write("".join(map(line.__mod__, zip(*(column[start:start + block] for column in columns)))))


def number_texts(values: np.ndarray) -> list[str]:
    """``repr`` of each number of a 1-D array (``float_str`` for floats), made by one C loop."""
    if not len(values):
        return []
    return repr(np.asarray(values).tolist())[1:-1].split(", ")


def float_str(value: float) -> str:
    """A float as kapture writes it (Python's repr)."""
    return repr(float(value))


def parse_float(value: str, path: Path, line: int, field: str, on_error: ErrorHandler = None) -> float | None:
    try:
        return float(value)
    except ValueError:
        report(on_error, FormatError(f"{value!r} is not a number", path, line, field))
        return None


def parse_int(value: str, path: Path, line: int, field: str, on_error: ErrorHandler = None) -> int | None:
    try:
        return int(value)
    except ValueError:
        report(on_error, FormatError(f"{value!r} is not an integer", path, line, field))
        return None
