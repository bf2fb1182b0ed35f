"""The one way a name read from data (a record path, an image name in a feature or match file name)
becomes a file path: the result always lies inside the folder it is relative to.

Refused, with an error naming the data file, line and field: an empty name, a NUL byte, an
absolute path, a ``..`` that leaves the folder, and a path whose folders resolve (through symbolic
links) outside it. The folder itself may be a link (MAP_DIR's ``records_data`` links to the
input's), and so may the file itself: kapture's imports link each image to its original
(``link_absolute``), so a linked file is data the dataset names, not an escape.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kapturelike.errors import FormatError

MAX_QUOTE = 80
MAX_NAME, MAX_PATH = 255, 4095  # bytes: Linux's NAME_MAX and PATH_MAX - 1


def quote(value: object, limit: int = MAX_QUOTE) -> str:
    """``repr`` of a value, cut to about ``limit`` characters: error lines stay short."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 5]}...{text[-2:]} ({len(str(value))} characters)"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a path relative to a folder (lexical rules only), or None."""
    if not name:
        return "is empty"
    if "\0" in name:
        return "holds a NUL byte"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_PATH or any(
            len(part.encode("utf-8", "surrogatepass")) > MAX_NAME for part in name.split("/")):
        return f"is too long for a file path (over {MAX_PATH} bytes, or a part over {MAX_NAME})"
    if name.startswith("/") or os.path.isabs(name):
        return "is an absolute path"
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "leaves its folder ('..')"
        elif part not in ("", "."):
            depth += 1
    if depth == 0:
        return "names the folder itself"
    return None


def inside(folder: str | Path, name: str, source: str | Path | None = None, line: int | None = None,
           field: str | None = None) -> Path:
    """``folder / name``, refused (FormatError naming ``source``, ``line``, ``field``) if it leaves ``folder``."""
    problem = name_problem(name)
    path = Path(folder) / name
    if problem is None and "/" in name.strip("/"):  # a folder inside the name may be a link leading out
        real_folder = os.path.realpath(folder)
        real_parent = os.path.realpath(path.parent)
        if os.path.commonpath([real_folder, real_parent]) != real_folder:
            problem = f"resolves through a symbolic link outside its folder (to {quote(real_parent)})"
    if problem is not None:
        raise FormatError(f"path {quote(name)} {problem}: refused, it must stay inside {folder}",
                          source, line, field)
    return path


def line_of(data_file: str | Path, column: int, value: str) -> int | None:
    """The 1-based line of ``data_file`` whose field ``column`` is ``value`` (to name a bad row), or None."""
    try:
        with open(data_file, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                fields = line.split(",")
                if line[:1] != "#" and len(fields) > column and fields[column].strip() == value:
                    return number
    except OSError:
        return None
    return None


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def regular_file_size(path: str | Path) -> int:
    """The size of the regular file at ``path``; a FormatError naming it for anything else (a directory, a
    FIFO, whose reading would block forever, a broken or looping link, a file that cannot be read)."""
    try:
        status = os.stat(path)
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror or e}", path) from None
    if not stat.S_ISREG(status.st_mode):
        raise FormatError(f"is {_file_kind(status.st_mode)} where a file should be", path)
    if not os.access(path, os.R_OK):
        raise FormatError("cannot read: permission denied", path)
    return status.st_size
