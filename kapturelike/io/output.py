"""Output folders: never on top of an input, and never a mix of this run's files and stale ones.

Every tool that writes a dataset, a converter or a pipeline calls ``refuse_overlap`` (or
``prepare_output``, which calls it) before it writes anything. The rules follow kapture's:
a non-empty output is refused without ``force``; with ``force`` what the tool writes is removed
first, so that no file of an earlier run survives to contradict the new one. ``force`` never
allows an output equal to, inside or containing an input: it would overwrite or delete what is
being read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from kapturelike.errors import KapturelikeError
from kapturelike.io.text import remove_stale_temporaries

KAPTURE_PARTS = ("sensors", "reconstruction")  # what a tool writing a kapture dataset writes


class OutputError(KapturelikeError, ValueError):
    """An output folder a tool must not write to (an input, or not empty without --force)."""


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def refuse_overlap(output: str | Path, inputs: Iterable[str | Path | None], what: str = "input") -> None:
    """Refuse an ``output`` that is an input, lies inside one or holds one (links resolved)."""
    out = _real(output)
    for given in inputs:
        if given is None:
            continue
        inp = _real(given)
        if out == inp:
            relation = "is"
        elif inp in out.parents:
            relation = "is inside"
        elif out in inp.parents:
            relation = "holds"
        else:
            continue
        raise OutputError(f"output {output} overlaps {what} {given} (the output, {out}, {relation} the {what}, {inp}): "
                          "refused even with --force, writing there would overwrite or delete what is read")


def prepare_output(output: str | Path, inputs: Iterable[str | Path | None] = (), force: bool = False,
                   parts: Iterable[str] = KAPTURE_PARTS) -> Path:
    """Check ``output`` against the ``inputs`` and create it; a non-empty folder is refused unless
    ``force``, which removes the ``parts`` (files or folders below ``output``) the tool writes."""
    refuse_overlap(output, inputs)
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: output exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputError(f"{out}: output folder is not empty (use -f/--force to replace what this tool writes)")
        for part in parts:
            path = out / part
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
        remove_stale_temporaries(out)
    out.mkdir(parents=True, exist_ok=True)
    return out
