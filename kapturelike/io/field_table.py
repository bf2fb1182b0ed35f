"""A big kapture table read as bytes: the bounds of every field, and its columns parsed with numpy.

This is the fast path of the million-line files (trajectories, records). Nothing is split into
Python strings: numbers are converted from the bytes (``number_fields``) and a text column is
decoded once per distinct value. When the table is not regular (see ``_field_ends``), the
reader returns None and the caller's per-line parser takes over, finds the bad line and names it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.errors import FormatError
from kapturelike.io.number_fields import (
    byte_words,
    low_bytes,
    parse_float_fields,
    parse_int_fields,
    strip_spaces,
)
from kapturelike.io.paths import regular_file_size
from kapturelike.io.text import ErrorHandler, check_version, version_of

PADDING = 32  # bytes before and after the file's bytes, so that 8-byte reads near its ends stay inside


@dataclass(frozen=True)
class FieldTable:
    """Where each field of a table's data lines lies in the file's bytes.

    ``ends[c, r]`` is the separator (',' or line end) after column c of row r; the field starts one
    byte after the previous separator.
    """

    path: Path
    data: np.ndarray  # the file's bytes (uint8), PADDING bytes of padding on both sides
    ends: np.ndarray  # (columns, rows) int64: a column's bounds are contiguous
    first: int  # where the first row starts

    def __len__(self) -> int:
        return self.ends.shape[1]

    def bounds(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (exclusive) of the fields of a column."""
        if column:
            return self.ends[column - 1] + 1, self.ends[column]
        starts = np.empty(len(self), dtype=np.int64)
        starts[:1] = self.first
        np.add(self.ends[-1, :-1], 1, out=starts[1:])
        return starts, self.ends[0]

    def floats(self, columns: range) -> tuple[np.ndarray, np.ndarray]:
        """Columns as float64, (rows, columns), exactly ``float`` of each field; flat indices of bad fields."""
        values = np.empty((len(columns), len(self)))
        bad = []
        for i, column in enumerate(columns):
            values[i], bad_rows = parse_float_fields(self.data, *self.bounds(column))
            bad.append(bad_rows * len(columns) + i)
        return values.T, np.sort(np.concatenate(bad)) if bad else np.empty(0, dtype=np.int64)

    def blank(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Whether the fields (rows[i], columns[i]) hold nothing but spaces."""
        ends = self.ends[columns, rows]
        starts = np.where(columns > 0, self.ends[columns - 1, rows] + 1,
                          np.where(rows > 0, self.ends[-1, rows - 1] + 1, self.first))
        starts, ends = strip_spaces(self.data, starts, ends)
        return starts == ends

    def ints(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """A column as int64 and the indices of fields that are not 64-bit integers."""
        return parse_int_fields(self.data, *self.bounds(column))

    def strings(self, column: int) -> np.ndarray:
        """A column as an object array of stripped ``str``.

        Short values repeated many times (ids) are decoded once per distinct value; others (paths)
        are gathered into one text, one value a line, and split, which makes each ``str`` in C.
        """
        starts, ends = strip_spaces(self.data, *self.bounds(column))
        if not len(starts):
            return np.empty(0, dtype=object)
        lengths = ends - starts
        n_words = max(1, -(-int(lengths.max()) // 8))
        if n_words <= 4:
            ids = self._repeated_values(starts, ends, lengths, n_words)
            if ids is not None:
                return ids
        # each field and the separator after it (turned into a line break) in one text: the bytes are
        # runs of skipped and kept bytes, alternately
        runs = np.empty(2 * len(starts) + 1, dtype=np.int64)
        runs[0] = starts[0]
        runs[1::2] = lengths + 1
        runs[2:-1:2] = starts[1:] - ends[:-1] - 1
        runs[-1] = len(self.data) - ends[-1] - 1
        kept_run = np.zeros(len(runs), dtype=bool)
        kept_run[1::2] = True
        kept = self.data[np.repeat(kept_run, runs)]
        kept[np.cumsum(lengths + 1) - 1] = 10
        values = str(memoryview(kept[:-1]), "utf-8").split("\n")
        edges = np.concatenate([self.data[starts[lengths > 0]], self.data[ends[lengths > 0] - 1]])
        if ((edges <= 32) | (edges >= 127)).any():  # whitespace at an edge, maybe Unicode: strip as kapture does
            values = [v.strip() for v in values]
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    def _repeated_values(self, starts: np.ndarray, ends: np.ndarray, lengths: np.ndarray,
                         n_words: int) -> np.ndarray | None:
        """Values decoded once per distinct value, when a sample of rows shows few (ids); else None."""
        sample = np.random.default_rng(0).integers(0, len(starts), min(len(starts), 4096))
        sample_keys = _field_keys(self.data, starts[sample], lengths[sample], n_words)[0]
        distinct = np.unique(sample_keys)
        if 8 * len(distinct) > len(sample):
            return None
        keys, words = _field_keys(self.data, starts, lengths, n_words)
        which = np.minimum(np.searchsorted(distinct, keys), len(distinct) - 1)
        if not np.array_equal(distinct[which], keys):  # a value the sample missed
            distinct, which = np.unique(keys, return_inverse=True)
        representative = np.empty(len(distinct), dtype=np.int64)
        representative[which] = np.arange(len(keys))  # any row of each value
        if not (np.array_equal(words[representative][which], words)
                and np.array_equal(lengths[representative][which], lengths)):
            return None  # two values share a key
        texts = [self.data[i:j].tobytes().decode("utf-8").strip()
                 for i, j in zip(starts[representative].tolist(), ends[representative].tolist())]
        return np.array(texts, dtype=object)[which]


def _field_keys(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, n_words: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit hash of each field and the field's bytes as words (zero past its end), for fields <= 8 words."""
    windows = byte_words(data)
    words = np.empty((len(starts), n_words), dtype=np.uint64)
    keys = lengths.astype(np.uint64)
    for w in range(n_words):
        words[:, w] = windows[starts + 8 * w] & low_bytes(lengths - 8 * w)
        keys = (keys * np.uint64(0x100000001B3)) ^ words[:, w]
    return keys, words


def _skip_comments(text: bytes) -> int:
    """Offset of the first line after the leading comment lines (the length when all are comments)."""
    start = 0
    while text.startswith(b"#", start):
        end = text.find(b"\n", start)
        if end < 0:
            return len(text)
        start = end + 1
    return start


def read_field_table(path: str | Path, n_fields: int, on_error: ErrorHandler = None,
                     require_version: bool = True) -> FieldTable | None:
    """The table's field bounds, or None when it needs the per-line parser (irregular lines).

    Checks the version header and UTF-8 like ``read_text``, raising ``FormatError``.
    """
    path = Path(path)
    size = regular_file_size(path)
    data = np.empty(size + 2 * PADDING, dtype=np.uint8)
    data[:PADDING] = data[-PADDING:] = 0
    with _opened(path) as f:
        if f.readinto(memoryview(data)[PADDING:PADDING + size]) != size:
            raise FormatError("file changed while being read", path)
    content = data[PADDING:PADDING + size]
    head = content[:4096].tobytes()
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    check_version(path, version_of(first_line), require_version, on_error, empty=not size)
    if content.size and content.max() >= 128:
        try:
            content.tobytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    start = _skip_comments(head)
    if start == len(head) and len(head) < size:  # a long run of comments: find its end on the whole file
        start = _skip_comments(content.tobytes())
    end = size - 1 if size and content[-1] == 10 else size
    if start >= end:
        return FieldTable(path, data, np.empty((n_fields, 0), np.int64), PADDING + start)
    ends = _field_ends(content[start:end], n_fields, PADDING + start)
    return None if ends is None else FieldTable(path, data, ends, PADDING + start)


def _field_ends(body: np.ndarray, n_fields: int, offset: int, block: int = 1 << 22) -> np.ndarray | None:
    """Position (plus ``offset``) of the separator after column c of row r of a table body; None if irregular.

    Regular: every line has exactly ``n_fields`` fields, no line is blank or a comment, no field
    at either end of the body is empty. Works on UTF-8 bytes (',' and '\\n' never occur inside a
    multi-byte character) a block of whole lines at a time, so no temporary is as big as the file.
    """
    k = n_fields - 1
    if k < 1 or body[0] in b",\n" or body[-1] in b",\n":
        return None
    is_newline = np.empty(min(block, len(body)), dtype=bool)
    rows = 1
    for pos in range(0, len(body), block):
        part = body[pos:pos + block]
        rows += int(np.count_nonzero(np.equal(part, 10, out=is_newline[:len(part)])))
    ends = np.empty((n_fields, rows), dtype=np.int64)
    row = pos = 0
    while pos < len(body):
        part = body[pos:pos + block]
        newlines = np.flatnonzero(part == 10)
        last_block = pos + len(part) == len(body)
        if not last_block:
            if not len(newlines):
                return None  # a line of megabytes: not a kapture table
            part = part[:newlines[-1] + 1]
        commas = np.flatnonzero(part == 44)
        lines = len(newlines) + last_block
        if len(commas) != k * lines or (body[pos + newlines + 1] == 35).any():  # '#': a comment among rows
            return None
        if len(newlines):  # line i holds commas k*i .. k*i+k-1: its newline lies after them, before the next's
            if (commas[k - 1::k][:len(newlines)] > newlines).any() or (commas[k::k] < newlines[:lines - 1]).any():
                return None
        np.add(commas.reshape(lines, k).T, pos + offset, out=ends[:k, row:row + lines])
        np.add(newlines, pos + offset, out=ends[k, row:row + len(newlines)])
        if last_block:
            ends[k, row + lines - 1] = len(body) + offset
        row += lines
        pos += len(part)
    return ends


@contextlib.contextmanager
def _opened(path: Path) -> Iterator:
    try:
        f = open(path, "rb")
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror or e}", path) from None
    with f:
        yield f
