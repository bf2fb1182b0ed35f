"""Pairs file round trip, kapture-localization compatibility, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapturelike.errors import FormatError
from kapturelike.io.pairs import read_ordered_pairs, read_pairs, read_unordered_pairs, sort_pairs, write_pairs

NAME = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters="/_.-"),
               min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(NAME, NAME, st.floats(-1e6, 1e6, allow_nan=False)), max_size=20))
def test_round_trip(tmp_path_factory, pairs):
    path = tmp_path_factory.mktemp("pairs") / "pairs.txt"
    write_pairs(path, pairs)
    assert read_pairs(path) == sort_pairs(pairs)


def test_written_layout_and_kapture_reader(tmp_path):
    path = tmp_path / "pairs.txt"
    write_pairs(path, [("q/b.jpg", "m/1.jpg", 0.5), ("q/a.jpg", "m/2.jpg", 0.25), ("q/a.jpg", "m/1.jpg", 0.75)])
    lines = path.read_text().splitlines()
    assert lines[:2] == ["# kapture format: 1.1", "# query_image, map_image, score"]
    assert lines[2:] == ["q/a.jpg, m/1.jpg, 0.75", "q/a.jpg, m/2.jpg, 0.25", "q/b.jpg, m/1.jpg, 0.5"]
    from kapture.io.csv import table_from_file
    with open(path) as f:
        assert [tuple(r) for r in table_from_file(f)] == [tuple(line.split(", ")) for line in lines[2:]]


def test_read_kapture_written_file(tmp_path):
    from kapture.io.csv import table_to_file
    path = tmp_path / "k.txt"
    with open(path, "w") as f:
        table_to_file(f, [["a", "b", 0.5], ["a", "c", 0.9], ["b", "a", 0.1], ["a", "a", 1.0]],
                      header="# query_image, map_image, score")
    assert read_ordered_pairs(path) == {"a": [("a", 1.0), ("c", 0.9), ("b", 0.5)], "b": [("a", 0.1)]}
    assert read_ordered_pairs(path, topk=1) == {"a": [("a", 1.0)], "b": [("a", 0.1)]}
    assert read_unordered_pairs(path) == [("a", "b"), ("a", "c")]


@pytest.mark.parametrize("line,field,message", [
    ("a, b", "columns", "3 comma-separated"),
    ("a, b, 0.5, 1", "columns", "got 4"),
    ("a, b, high", "score", "not a number"),
    ("a, b, nan", "score", "finite"),
    (", b, 0.5", "query_image", "empty"),
    ("a, , 0.5", "map_image", "empty"),
])
def test_malformed_lines(tmp_path, line, field, message):
    path = tmp_path / "bad.txt"
    path.write_text("# comment\n\nq, m, 1.0\n" + line + "\n")
    with pytest.raises(FormatError, match=message) as info:
        read_pairs(path)
    assert info.value.line == 4 and info.value.field == field and str(path) in str(info.value)


def test_refused_names_and_missing_file(tmp_path):
    path = tmp_path / "out.txt"
    for bad in [("a,b", "m", 0.1), ("a", "m,x", 0.1), (" a", "m", 0.1), ("#a", "m", 0.1), ("a", "m", float("inf"))]:
        with pytest.raises(FormatError):
            write_pairs(path, [("ok", "fine", 0.2), bad])
    assert not path.exists()  # nothing half-written
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_pairs(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe, a, 1\n")
    with pytest.raises(FormatError, match="UTF-8"):
        read_pairs(tmp_path / "bin.txt")
