"""Low-level text tables of the kapture format: reading lines, writing rows, atomic files.

kapture's text files are comma-separated rows; a line whose first character is '#' is a
comment; blank lines are skipped; fields are stripped; there is no quoting, so a value holding a
comma (or a line break) cannot be stored and is refused. The first line of every kapture file is
the version header ``# kapture format: 1.1``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from kapturelike.errors import FormatError, FormatWarning
from kapturelike.io.paths import quote, regular_file_size

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
    regular_file_size(path)  # a directory or FIFO is an error, never a blocked read
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror or e}", path) from None
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
        raise FormatError(f"value {quote(value)} holds a comma or a line break, which the kapture format cannot "
                          "store (it has no quoting)", path, line, field)
    if value != value.strip():
        raise FormatError(f"value {quote(value)} has leading or trailing spaces, which kapture strips on reading",
                          path, line, field)
    return value


def check_column(values: list[str], path: str | Path | None, field: str) -> None:
    """``check_field`` on a whole column, with C-level scans; the per-value check only runs to name a bad one."""
    joined = "\0".join(values)
    if ("," in joined or "\n" in joined or "\r" in joined
            or not all(map(str.__eq__, values, map(str.strip, values)))):
        for value in values:
            check_field(value, path, field)


# A temporary file is named ".<target name>.<8 hex>.kapturelike-tmp" beside its target (a rename
# across file systems is not atomic) and is locked (flock) while its writer lives: the lock goes with
# the process, even on kill -9, so ``remove_stale_temporaries`` can tell a dead writer's file from a
# live one and never touches a file it did not create.
TEMPORARY_SUFFIX = ".kapturelike-tmp"
_TEMPORARY_RE = re.compile(r"^\..*\.[0-9a-f]{8}" + re.escape(TEMPORARY_SUFFIX) + "$", re.DOTALL)


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
    except FileNotFoundError:
        return False


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new, locked temporary file beside ``path``, mode 0666 less the umask (like ``open``)."""
    while True:
        tmp = os.path.join(path.parent, f".{path.name[:200]}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_file(fd, tmp):  # else a cleanup removed it between creation and lock: try again
            return fd, tmp
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success.

    The file gets the mode ``open`` would give a new file (0666 less the umask), also when it
    replaces an existing one; a temporary file left by a killed writer is removed by the next
    ``remove_stale_temporaries`` of its dataset.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, mode, encoding="utf-8", newline="") if "b" not in mode else os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.replace(tmp, path)  # before closing: the lock must cover the temporary file until it is gone
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def remove_stale_temporaries(root: str | Path) -> int:
    """Remove the temporary files of ``atomic_write`` below ``root`` whose writer is gone; their count.

    Only files named as ``atomic_write`` names them and not locked by a live writer are removed;
    symbolic links (to an input's images, say) are not followed.
    """
    removed = 0
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(TEMPORARY_SUFFIX) or not _TEMPORARY_RE.match(name):
                continue
            tmp = os.path.join(folder, name)
            try:
                fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError:  # a link, a FIFO opened elsewhere, gone: not ours to remove
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if stat.S_ISREG(os.fstat(fd).st_mode) and _same_file(fd, tmp):
                    os.unlink(tmp)
                    removed += 1
            except OSError:  # locked: its writer is alive
                pass
            finally:
                os.close(fd)
    return removed


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
