"""reconstruction/: feature type files, points3d.txt and observations.txt."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import DTYPES, FeatureType, Observations
from kapturelike.errors import FormatError
from kapturelike.io.field_table import read_field_table
from kapturelike.io.paths import quote, regular_file_size
from kapturelike.io.text import (
    VERSION_HEADER,
    ErrorHandler,
    atomic_write,
    check_field,
    check_version,
    data_rows,
    read_lines,
    report,
    version_of,
    write_table,
)

TYPE_FILE_COLUMNS = {
    "keypoints": ("name", "dtype", "dsize"),
    "descriptors": ("name", "dtype", "dsize", "keypoints_type", "metric_type"),
    "global_features": ("name", "dtype", "dsize", "metric_type"),
}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
OBSERVATIONS_HEADER = "# point3d_id, keypoints_type, [image_path, feature_id]*"


def type_file_path(root: str | Path, kind: str, type_name: str, version: str = "1.1") -> Path:
    if version == "1.0":
        return Path(root) / "reconstruction" / kind / f"{kind}.txt"
    return Path(root) / "reconstruction" / kind / type_name / f"{kind}.txt"


def write_feature_type(root: str | Path, feature_type: FeatureType, path: str | Path | None = None) -> None:
    """The type file of ``feature_type`` in the dataset at ``root`` (or at ``path``: separate-folder layout)."""
    columns = TYPE_FILE_COLUMNS[feature_type.kind]
    values = {"name": feature_type.declared_name or feature_type.name, "dtype": feature_type.dtype_name,
              "dsize": str(feature_type.dsize),
              "keypoints_type": feature_type.keypoints_type or "", "metric_type": feature_type.metric_type or ""}
    path = Path(path) if path is not None else type_file_path(root, feature_type.kind, feature_type.name)
    row = [check_field(values[c], path, c) for c in columns]
    write_table(path, "# " + ", ".join(columns), [row])


def parse_dtype(text: str, path: Path, line: int) -> np.dtype:
    """A dtype name, looked up in a table (never evaluated)."""
    name = text.strip()
    for prefix in ("numpy.", "np."):
        name = name[len(prefix):] if name.startswith(prefix) else name
    if name.startswith("<class '") and name.endswith("'>"):
        name = name[8:-2].rsplit(".", 1)[-1]
    if name not in DTYPES:
        raise FormatError(f"unknown dtype {quote(text)} (known: {', '.join(DTYPES)})", path, line, "dtype")
    return DTYPES[name]


def read_feature_type(path: str | Path, kind: str, version: str = "1.1", type_name: str | None = None) -> FeatureType:
    """Read one type file; in kapture 1.0, only name, dtype and dsize are mandatory."""
    path = Path(path)
    _, lines = read_lines(path, require_version=False)
    rows = list(data_rows(lines))
    if len(rows) != 1:
        raise FormatError(f"a type file holds exactly one data line, found {len(rows)}", path,
                          rows[1][0] if len(rows) > 1 else None, "name")
    line, fields = rows[0]
    columns = TYPE_FILE_COLUMNS[kind]
    if len(fields) != len(columns) and not (version == "1.0" and len(fields) >= 3):
        raise FormatError(f"expected {len(columns)} fields ({', '.join(columns)}), got {len(fields)}", path, line,
                          columns[min(len(fields), len(columns) - 1)])
    values = dict(zip(columns, fields))
    dtype = parse_dtype(values["dtype"], path, line)
    try:
        dsize = int(values["dsize"])
    except ValueError:
        raise FormatError(f"{quote(values['dsize'])} is not an integer", path, line, "dsize") from None
    if dsize <= 0:
        raise FormatError(f"dsize must be positive, got {dsize}", path, line, "dsize")
    name = values["name"] if type_name is None else type_name  # kapture keys a type by its folder
    declared = values["name"] if version != "1.0" and values["name"] != name else None
    return FeatureType(kind, name, dtype, dsize, keypoints_type=values.get("keypoints_type"),
                       metric_type=values.get("metric_type"), dtype_name=values["dtype"].strip(),
                       declared_name=declared)


def write_points3d(path: str | Path, points3d: np.ndarray) -> None:
    """As kapture writes it (numpy savetxt, 10 decimals, comma separated)."""
    points3d = np.asarray(points3d, dtype=np.float64)
    if points3d.ndim != 2 or points3d.shape[1] not in (3, 6):
        raise ValueError(f"points3d must be (N, 3) or (N, 6), got {points3d.shape}")
    columns = "X, Y, Z" + (", R, G, B" if points3d.shape[1] == 6 else "")
    with atomic_write(path, "wb") as f:
        np.savetxt(f, points3d, delimiter=",", header=VERSION_HEADER[2:] + "\n" + columns, fmt="%.10f")


def _points3d_columns(head: list[str]) -> int | None:
    """3 or 6, from the column comment among the first lines; None when there is none."""
    header = "\n".join(line for line in head[:3] if line.startswith("#"))
    return 6 if "R, G, B" in header else 3 if "X, Y, Z" in header else None


def _read_points3d_columns(path: Path, on_error: ErrorHandler = None) -> np.ndarray | None:
    """Whole columns converted from the file's bytes; None when a line needs the per-line parser."""
    regular_file_size(path)
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace").split("\n")
    check_version(path, version_of(head[0]), True, on_error, empty=head == [""])
    data_lines = [line for line in head[:-1] if line and line[0] != "#"]
    width = _points3d_columns(head) or (data_lines[0].count(",") + 1 if data_lines else None)
    if width not in (3, 6):
        return None
    table = read_field_table(path, width, require_version=False)
    if table is None:
        return None
    values, bad = table.floats(range(width))
    return None if len(bad) else np.ascontiguousarray(values)


def read_points3d(path: str | Path, on_error: ErrorHandler = None) -> np.ndarray:
    path = Path(path)
    points3d = _read_points3d_columns(path, on_error)
    if points3d is not None:
        return points3d
    _, lines = read_lines(path, require_version=False)  # the version line was checked
    ncols = _points3d_columns(lines)
    rows = [line for line in lines if line and line[0] != "#" and not line.isspace()]
    if not rows:
        return np.zeros((0, ncols or 6))
    try:
        values = np.array(",".join(rows).split(","), dtype=np.float64)
        width = ncols or len(rows[0].split(","))
        if values.size != width * len(rows) or any(r.count(",") != width - 1 for r in rows):
            raise ValueError("column count")
        return values.reshape(-1, width)
    except ValueError:
        width = ncols or len(rows[0].split(","))
        good = []
        for line, fields in data_rows(lines):
            if len(fields) != width:
                report(on_error, FormatError(f"expected {width} values, got {len(fields)}", path, line, "X"))
                continue
            try:
                good.append([float(v) for v in fields])
            except ValueError:
                bad = next(i for i, v in enumerate(fields) if not _is_float(v))
                report(on_error, FormatError(f"{quote(fields[bad])} is not a number", path, line, "XYZRGB"[bad]))
        return np.array(good, dtype=np.float64).reshape(-1, width)


def _is_float(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def write_observations(path: str | Path, observations: Observations) -> None:
    obs = observations.sorted()

    def rows():
        n = len(obs)
        start = 0
        pids, types = obs.point_ids.tolist(), obs.keypoints_types.tolist()
        names, fids = obs.image_names.tolist(), obs.feature_ids.tolist()
        while start < n:
            end = start
            while end < n and pids[end] == pids[start] and types[end] == types[start]:
                end += 1
            row = [str(pids[start]), check_field(types[start], path, "keypoints_type")]
            for i in range(start, end):
                row += [check_field(names[i], path, "image_path"), str(fids[i])]
            yield row
            start = end

    write_table(path, OBSERVATIONS_HEADER, rows())


def read_observations(path: str | Path, version: str = "1.1", default_keypoints_type: str = "",
                      on_error: ErrorHandler = None) -> Observations:
    """Observations; kapture 1.0 files have no keypoints type column (``default_keypoints_type`` is used)."""
    path = Path(path)
    _, lines = read_lines(path, on_error=on_error)
    pids, types, names, fids = [], [], [], []
    skip = 1 if version == "1.0" else 2
    for line, fields in data_rows(lines):
        if len(fields) < skip or (len(fields) - skip) % 2:
            report(on_error, FormatError("expected point3d_id, keypoints_type, then (image_path, feature_id) pairs",
                                         path, line, "image_path"))
            continue
        try:
            pid = int(fields[0])
            ids = [int(v) for v in fields[skip + 1::2]]
        except ValueError:
            bad = "point3d_id" if not fields[0].lstrip("-").isdigit() else "feature_id"
            report(on_error, FormatError("not an integer", path, line, bad))
            continue
        if not INT64_MIN <= pid <= INT64_MAX or not all(INT64_MIN <= i <= INT64_MAX for i in ids):
            bad = "point3d_id" if not INT64_MIN <= pid <= INT64_MAX else "feature_id"
            report(on_error, FormatError("integer beyond 64 bits", path, line, bad))
            continue
        kpt_type = fields[1] if skip == 2 else default_keypoints_type
        image_names = fields[skip::2]
        pids += [pid] * len(ids)
        types += [kpt_type] * len(ids)
        names += image_names
        fids += ids
    return Observations(np.array(pids, dtype=np.int64), np.array(types, dtype=object),
                        np.array(names, dtype=object), np.array(fids, dtype=np.int64))
