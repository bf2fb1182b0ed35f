"""Atomic writes: the umask is honoured, a killed writer's temporary file is cleaned by the next run,
and the cleanup never touches what it did not create."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kapturelike.io.text import TEMPORARY_SUFFIX, atomic_write, remove_stale_temporaries, write_table


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_and_replaced_files_follow_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    old = os.umask(umask)
    try:
        path = tmp_path / "sub" / "t.txt"
        write_table(path, "# a", [["1"]])
        assert _mode(path) == expected
        os.chmod(path, 0o600)  # replacing gives the file the umask's mode too, as a fresh open() would
        with atomic_write(path, "wb") as f:
            f.write(b"x")
        assert _mode(path) == expected and path.read_bytes() == b"x"
    finally:
        os.umask(old)


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.name.endswith(TEMPORARY_SUFFIX))


WRITER = """
import sys, time
from kapturelike.io.text import atomic_write
with atomic_write(sys.argv[1], "wb") as f:
    f.write(b"partial" * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def _killed_writer(target: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_killed_writer_leaves_a_temporary_that_the_next_run_removes(tmp_path: Path) -> None:
    target = tmp_path / "reconstruction" / "points3d.txt"
    target.parent.mkdir(parents=True)
    target.write_text("old")
    _killed_writer(target)
    stale = _temporaries(tmp_path)
    assert len(stale) == 1 and stale[0].parent == target.parent  # beside its target, named as ours
    assert target.read_text() == "old"  # the kill lost nothing
    assert remove_stale_temporaries(tmp_path) == 1
    assert _temporaries(tmp_path) == [] and target.read_text() == "old"


def test_cleanup_spares_live_writers_foreign_files_and_links(tmp_path: Path) -> None:
    foreign = [tmp_path / ".a.jpg.1234abcd.tmp", tmp_path / "notes.kapturelike-tmp",
               tmp_path / ".x.ZZZZZZZZ.kapturelike-tmp"]
    for p in foreign:
        p.write_text("user data")
    outside = tmp_path.parent / f"{tmp_path.name}_outside"
    outside.mkdir()
    victim = outside / f".v.0123abcd{TEMPORARY_SUFFIX}"
    victim.write_text("not ours")
    (tmp_path / "linked").symlink_to(outside, target_is_directory=True)  # cleanup does not follow links
    (tmp_path / f".l.0123abcd{TEMPORARY_SUFFIX}").symlink_to(victim)
    with atomic_write(tmp_path / "live.txt") as f:
        f.write("in progress")
        assert remove_stale_temporaries(tmp_path) == 0  # the live writer holds its lock
        f.write(", done")
    assert (tmp_path / "live.txt").read_text() == "in progress, done"
    assert all(p.read_text() == "user data" for p in foreign) and victim.read_text() == "not ours"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old" and _temporaries(tmp_path) == []


def test_many_writers_one_folder(tmp_path: Path) -> None:
    """Names never collide: many files written in one folder, nothing left over."""
    for i in range(300):
        with atomic_write(tmp_path / f"f{i}.bin", "wb") as f:
            f.write(bytes([i % 256]))
    assert len(list(tmp_path.iterdir())) == 300 and _temporaries(tmp_path) == []
