"""sensors/records_*.txt for every record kind (camera, depth, lidar, wifi, bluetooth, gnss, ...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.records import RECORD_KINDS, Records
from kapturelike.errors import FormatError
from kapturelike.io.field_table import read_field_table
from kapturelike.io.paths import quote
from kapturelike.io.text import (
    ErrorHandler,
    check_column,
    check_field,
    data_rows,
    float_str,
    number_texts,
    read_text,
    report,
    split_lines,
    write_columns,
)

# kapture's historical header of the file records: the last column is called by what it holds.
_FILE_HEADERS = {"camera": "# timestamp, device_id, image_path",
                 "depth": "# timestamp, device_id, depth_map_path",
                 "lidar": "# timestamp, device_id, point_cloud_path"}


def _value_str(value: object) -> str:
    return float_str(value) if isinstance(value, float) else str(value)


def write_records(path: str | Path, records: Records) -> None:
    recs = records.sorted()
    for dev in recs.device_ids_set():
        check_field(dev, path, "device_id")
    columns = [number_texts(recs.timestamps), recs.device_ids.tolist()]
    for (name, kind), values in zip(recs.spec.fields, recs.value_columns):
        text = list(map(str, values)) if kind is str else [_value_str(v) for v in values]
        check_column(text, path, name)
        columns.append(text)
    write_columns(path, _FILE_HEADERS.get(records.kind, recs.spec.header), columns)


def _cast(kind: str, fields: list[str], path: Path, line: int) -> tuple:
    spec = RECORD_KINDS[kind]
    if len(fields) != len(spec.fields):
        names = ", ".join(n for n, _ in spec.fields)
        raise FormatError(f"expected {2 + len(spec.fields)} fields (timestamp, device_id, {names}), got "
                          f"{2 + len(fields)}", path, line, spec.fields[0][0])
    values = []
    for (name, typ), value in zip(spec.fields, fields):
        try:
            values.append(typ(value))
        except ValueError:
            raise FormatError(f"{quote(value)} is not a valid {typ.__name__}", path, line, name) from None
    return tuple(values)


def _read_columns(kind: str, path: Path, on_error: ErrorHandler = None) -> Records | None:
    """Whole columns converted from the file's bytes; None when a line needs the per-line parser."""
    spec = RECORD_KINDS[kind]
    table = read_field_table(path, 2 + len(spec.fields), on_error)
    if table is None:
        return None
    timestamps, bad = table.ints(0)
    if len(bad):
        return None
    columns = []
    for column, (_, kind_of_value) in enumerate(spec.fields, start=2):
        if kind_of_value is float:
            values, bad = table.floats(range(column, column + 1))
            columns.append(values[:, 0].tolist())
        elif kind_of_value is int:
            values, bad = table.ints(column)
            columns.append(values.tolist())
        else:
            columns.append(table.strings(column).tolist())
        if len(bad):  # the per-line parser names the field (or, for an int beyond 64 bits, reads it)
            return None
    return Records(kind, timestamps, table.strings(1), columns=columns)


def read_records(path: str | Path, kind: str, on_error: ErrorHandler = None) -> Records:
    path = Path(path)
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind '{kind}' (known: {', '.join(RECORD_KINDS)})")
    records = _read_columns(kind, path, on_error)
    if records is not None:
        return records
    _, text = read_text(path, require_version=False)  # the version line was checked
    lines = split_lines(text)
    timestamps, devices, values = [], [], []
    file_kind = kind in _FILE_HEADERS
    for line, fields in data_rows(lines):
        if len(fields) < 3:
            report(on_error, FormatError(f"expected at least 3 fields, got {len(fields)}", path, line, "device_id"))
            continue
        try:
            ts = int(fields[0])
            if not -2**63 <= ts < 2**63:
                raise ValueError("beyond int64")
        except ValueError:
            report(on_error, FormatError(f"{quote(fields[0])} is not a 64-bit integer timestamp", path, line,
                                         "timestamp"))
            continue
        try:
            if file_kind:
                if len(fields) != 3:
                    raise FormatError(f"expected 3 fields, got {len(fields)} (a path holding a comma cannot be "
                                      "stored in kapture)", path, line, RECORD_KINDS[kind].fields[0][0])
                vals: tuple = (fields[2],)
            else:
                vals = _cast(kind, fields[2:], path, line)
        except FormatError as e:
            report(on_error, e)
            continue
        timestamps.append(ts)
        devices.append(fields[1])
        values.append(vals)
    return Records(kind, np.array(timestamps, dtype=np.int64), np.array(devices, dtype=object), values)
