"""Point cloud files of lidar records, read as open3d reads them for kapture: x, y, z of every point.

Formats, by extension: .pcd (PCL: DATA ascii, binary or binary_compressed), .ply (ascii, binary little or
big endian; the x, y, z properties of the vertex element), .xyz / .xyzn / .xyzrgb (text, x y z first) and
.pts (text, an optional first line with the point count). Other properties (intensity, colour, normals)
are not returned: kapture_export_ply keeps positions only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.errors import FormatError

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def read_point_cloud(path: str | Path) -> np.ndarray:
    """(N, 3) float64 positions of the point cloud file ``path``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pcd":
        return _read_pcd(path)
    if suffix == ".ply":
        return _read_ply(path)
    if suffix in (".xyz", ".xyzn", ".xyzrgb", ".pts"):
        return _read_text(path, skip_count=suffix == ".pts")
    raise FormatError(f"unknown point cloud format '{suffix}' (pcd, ply, xyz, xyzn, xyzrgb, pts)", path, None,
                      "extension")


def _split_header(data: bytes, path: Path, last_key: bytes) -> tuple[list[str], bytes]:
    """Header lines up to and including the line starting with ``last_key``, and the bytes after it."""
    lines, start = [], 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            raise FormatError(f"header ends without a '{last_key.decode()}' line", path, len(lines) + 1, "header")
        line = data[start:end].decode("ascii", errors="replace").strip()
        lines.append(line)
        start = end + 1
        if line.split()[:1] == [last_key.decode()]:
            return lines, data[start:]


def _numbers(text: str, columns: int, rows: int | None, path: Path, field: str) -> np.ndarray:
    """Whitespace-separated numbers as a (rows, columns) float64 array (all the rows there are when None)."""
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError as e:
        raise FormatError(f"a value is not a number ({e})", path, None, field) from None
    if values.size % columns or (rows is not None and values.size < rows * columns):
        raise FormatError(f"{values.size} values do not make rows of {columns}"
                          + ("" if rows is None else f" ({rows} rows expected)"), path, None, field)
    values = values.reshape(-1, columns)
    return values if rows is None else values[:rows]


def _read_text(path: Path, skip_count: bool) -> np.ndarray:
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    if skip_count and lines and len(lines[0].split()) == 1:  # .pts: the point count first
        lines = lines[1:]
    lines = [line for line in lines if line.strip()]
    if not lines:
        return np.zeros((0, 3))
    return _numbers("\n".join(lines), len(lines[0].split()), None, path, "xyz")[:, :3]


# ------------------------------------------------------------------------------------------ PCD
def _read_pcd(path: Path) -> np.ndarray:
    data = path.read_bytes()
    lines, body = _split_header(data, path, b"DATA")
    header = {line.split()[0].upper(): line.split()[1:] for line in lines if line and not line.startswith("#")}
    try:
        fields = header["FIELDS"]
        sizes = [int(s) for s in header["SIZE"]]
        types = header["TYPE"]
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(fields))]
        points = int(header["POINTS"][0]) if "POINTS" in header else \
            int(header["WIDTH"][0]) * int(header["HEIGHT"][0])
        kind = header["DATA"][0].lower()
    except (KeyError, IndexError, ValueError) as e:
        raise FormatError(f"incomplete PCD header ({type(e).__name__}: {e})", path, len(lines), "header") from None
    if not (len(fields) == len(sizes) == len(types) == len(counts)):
        raise FormatError("FIELDS, SIZE, TYPE and COUNT differ in length", path, len(lines), "header")
    missing = [axis for axis in "xyz" if axis not in fields]
    if missing:
        raise FormatError(f"no '{missing[0]}' field (FIELDS {' '.join(fields)})", path, None, "FIELDS")
    try:
        dtypes = [np.dtype(f"<{t.lower()}{s}") for t, s in zip(types, sizes)]
    except TypeError:
        raise FormatError(f"unsupported TYPE / SIZE {types} / {sizes}", path, None, "TYPE") from None
    if kind == "ascii":
        columns = {}  # field -> its first column in a row of values
        offset = 0
        for name, count in zip(fields, counts):
            columns[name] = offset
            offset += count
        values = _numbers(body.decode("ascii", errors="replace"), offset, points, path, "DATA")
        return values[:, [columns[a] for a in "xyz"]]
    if kind == "binary":
        record = np.dtype([(f"{n}_{i}", (d, c) if c > 1 else d) for i, (n, d, c) in
                           enumerate(zip(fields, dtypes, counts))])
        if len(body) < points * record.itemsize:
            raise FormatError(f"{len(body)} bytes of data, {points} points of {record.itemsize} expected", path,
                              None, "DATA")
        rows = np.frombuffer(body, record, count=points)
        names = {n: f"{n}_{i}" for i, n in enumerate(fields)}
        return np.stack([rows[names[a]].astype(np.float64) for a in "xyz"], axis=1)
    if kind == "binary_compressed":
        if len(body) < 8:
            raise FormatError("no compressed sizes", path, None, "DATA")
        compressed, size = (int(v) for v in np.frombuffer(body[:8], "<u4"))
        raw = lzf_decompress(body[8:8 + compressed], size)
        if len(raw) != size:
            raise FormatError(f"{len(raw)} bytes decompressed, {size} announced", path, None, "DATA")
        out, offset = {}, 0  # compressed data is stored field by field (all x, then all y, ...)
        for name, dtype, count in zip(fields, dtypes, counts):
            length = points * count * dtype.itemsize
            if name in "xyz" and name not in out:
                out[name] = np.frombuffer(raw[offset:offset + length], dtype).reshape(points, count)[:, 0]
            offset += length
        return np.stack([out[a].astype(np.float64) for a in "xyz"], axis=1)
    raise FormatError(f"unknown DATA '{kind}' (ascii, binary, binary_compressed)", path, len(lines), "DATA")


def lzf_decompress(data: bytes, size: int) -> bytes:
    """LZF (liblzf) decompression, as PCL's binary_compressed uses it."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        control = data[i]
        i += 1
        if control < 32:  # a literal run of control + 1 bytes
            out += data[i:i + control + 1]
            i += control + 1
            continue
        length = control >> 5
        if length == 7:
            length += data[i]
            i += 1
        back = len(out) - ((control & 0x1F) << 8) - data[i] - 1
        i += 1
        if back < 0:
            raise ValueError("LZF back reference before the start of the data")
        for k in range(length + 2):  # may overlap what it copies: byte by byte
            out.append(out[back + k])
        if len(out) > size:
            break
    return bytes(out)


# ------------------------------------------------------------------------------------------ PLY
def _read_ply(path: Path) -> np.ndarray:
    data = path.read_bytes()
    if not data.startswith(b"ply"):
        raise FormatError("not a PLY file (no 'ply' magic)", path, 1, "header")
    lines, body = _split_header(data, path, b"end_header")
    fmt = next((line.split()[1] for line in lines if line.startswith("format ")), None)
    elements: list[tuple[str, int, list[tuple[str, str | None, str]]]] = []  # name, count, (property, list?, type)
    for number, line in enumerate(lines, 1):
        words = line.split()
        if words[:1] == ["element"] and len(words) == 3:
            elements.append((words[1], int(words[2]), []))
        elif words[:1] == ["property"] and elements:
            if words[1] == "list" and len(words) == 5:
                elements[-1][2].append((words[4], words[2], words[3]))
            elif len(words) == 3 and words[1] in _PLY_TYPES:
                elements[-1][2].append((words[2], None, words[1]))
            else:
                raise FormatError(f"cannot read '{line}'", path, number, "property")
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise FormatError(f"unknown format '{fmt}'", path, None, "format")
    vertex = next((i for i, e in enumerate(elements) if e[0] == "vertex"), None)
    if vertex is None:
        raise FormatError("no 'element vertex'", path, None, "element")
    name, count, properties = elements[vertex]
    names = [p[0] for p in properties]
    if any(a not in names for a in "xyz"):
        raise FormatError(f"vertex has no x, y, z properties ({' '.join(names)})", path, None, "property")
    if fmt == "ascii":
        if any(p[1] is not None for e in elements[:vertex + 1] for p in e[2]):
            raise FormatError("list properties before or in the vertex element are not supported", path, None,
                              "property")
        rows = body.decode("ascii", errors="replace").splitlines()
        first = sum(e[1] for e in elements[:vertex])
        values = _numbers("\n".join(rows[first:first + count]), len(properties), count, path, "vertex")
        return values[:, [names.index(a) for a in "xyz"]]
    order = "<" if fmt == "binary_little_endian" else ">"
    offset = 0
    for element in elements[:vertex]:
        if any(p[1] is not None for p in element[2]):
            raise FormatError(f"element '{element[0]}' with list properties before the vertices is not supported",
                              path, None, "element")
        offset += element[1] * sum(np.dtype(_PLY_TYPES[p[2]]).itemsize for p in element[2])
    if any(p[1] is not None for p in properties):
        raise FormatError("list properties in the vertex element are not supported", path, None, "property")
    record = np.dtype([(p[0], order + _PLY_TYPES[p[2]]) for p in properties])
    if len(body) < offset + count * record.itemsize:
        raise FormatError(f"{len(body)} bytes of data, {count} vertices of {record.itemsize} expected", path, None,
                          "vertex")
    rows = np.frombuffer(body, record, count=count, offset=offset)
    return np.stack([rows[a].astype(np.float64) for a in "xyz"], axis=1)

