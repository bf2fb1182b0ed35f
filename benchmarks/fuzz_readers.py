"""Fuzz the readers: seeded mutations of real-format datasets through kapture_print, kapture_check and
load_kapture. Never a traceback, never a hang: every input is read or refused with a one-line error.

    python benchmarks/fuzz_readers.py [--cases 3000] [--seed 0] [--timeout 10] [--show 5]

The base datasets are our synthetic scene (mapping: one camera, poses, images; query: a rig, rig
poses) exported as kapture, the mapping one completed with every reconstruction part (keypoints,
descriptors, global features, matches, points3d with colours, observations) and gnss / wifi
records. Each case copies one base and applies 1-3 seeded mutations: fields dropped, duplicated or
replaced (NaN, inf, huge numbers, long or escaping strings), lines duplicated, garbage and non-UTF-8
bytes, truncated text and binary files, wrong dtypes and dsizes, a directory, a FIFO, a dangling
link or a link loop in place of a file, a folder link loop. Outcomes: accepted (read, printed and
checked clean), clean error (a one-line error or listed problems), traceback (an exception other
than kapturelike's, or a tool's "internal error"), hang (over --timeout seconds). Exit code 1 if any
traceback or hang.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.converters.features_io import add_feature_arrays, add_matches
from kapturelike.core.reconstruction import Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Sensor
from kapturelike.errors import KapturelikeError
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset
from kapturelike.tools import kapture_check, kapture_print

SPECIAL_VALUES = ["nan", "NaN", "inf", "+inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", str(2 ** 63),
                  str(2 ** 64), "-" + str(2 ** 63 + 1), "9" * 40, "", " ", "0x10", "1_000", "\uff11\uff12", "True",
                  "None", "\u00fc", "-0", "3.5", "-1", "0", "1e9", "../../../../secret.txt", "/etc/passwd",
                  "a/../../x.png", "9" * 100_000, "x" * 100_000]
DTYPES = ["float128", "object", "int4", "<f8", "complex64", "bool", "str", "float16", "V8", "float64", "uint64",
          "__import__('os').system('true')", "numpy.float32", "<class 'numpy.uint8'>", ""]
DSIZES = ["0", "-1", "99999999999999999999", "3.5", "1000000000", "nan", "", "1"]


def make_bases(folder: Path) -> list[Path]:
    """The mapping and query datasets of a tiny synthetic scene, the mapping one with a reconstruction."""
    options = SyntheticOptions(width=48, height=32, focal=40.0, num_mapping=4, num_sequences=1, sequence_length=2,
                               workers=1)
    paths = write_synthetic_kapture(generate_dataset(options), folder)
    k = load_kapture(paths.mapping)
    rng = np.random.default_rng(0)
    names = sorted(k.image_names())
    add_feature_arrays(paths.mapping, k, "keypoints", "sift",
                       ((n, rng.uniform(0, 40, (6, 4)).astype(np.float32)) for n in names))
    add_feature_arrays(paths.mapping, k, "descriptors", "sift",
                       ((n, rng.integers(0, 255, (6, 8)).astype(np.uint8)) for n in names), keypoints_type="sift")
    add_feature_arrays(paths.mapping, k, "global_features", "densevlad",
                       ((n, rng.normal(size=(1, 4)).astype(np.float32)) for n in names), metric_type="L2")
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    add_matches(paths.mapping, k, "sift", ((a, b, np.array([[0, 1, 0.5], [2, 3, 0.9]])) for a, b in pairs))
    k.points3d = np.hstack([rng.normal(size=(5, 3)), rng.integers(0, 255, (5, 3))]).astype(np.float64)
    k.observations = Observations.from_lists([(p, "sift", names[p % len(names)], p) for p in range(5)] +
                                             [(p, "sift", names[(p + 1) % len(names)], 5 - p) for p in range(5)])
    ts = k.records_camera.timestamps[:2].tolist()
    k.sensors["gps"], k.sensors["wifi0"] = Sensor("gnss", name="gps"), Sensor("wifi", name="wifi")
    k.records["gnss"] = Records("gnss", ts, ["gps"] * 2, [(1.0, 2.0, 3.0, 100, 5.0), (1.5, 2.5, 3.5, 101, 5.0)])
    k.records["wifi"] = Records("wifi", ts, ["wifi0"] * 2, [("aa:bb", 2400, -50.0, "net", 1, 2),
                                                               ("cc:dd", 5000, -60.0, "", 3, 4)])
    save_kapture(k, paths.mapping)
    return [paths.mapping, paths.query]


# ------------------------------------------------------------------------------------------ mutations
def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _text_files(root: Path) -> list[Path]:
    return [p for p in _files(root) if p.suffix == ".txt"]


def _data_line(lines: list[bytes], rng: np.random.Generator) -> int | None:
    data = [i for i, line in enumerate(lines) if line and not line.startswith(b"#")]
    return int(rng.choice(data)) if data else None


def _edit_fields(path: Path, rng: np.random.Generator, edit: Callable[[list[bytes]], list[bytes]]) -> str:
    lines = path.read_bytes().split(b"\n")
    i = _data_line(lines, rng)
    if i is None:
        return "no data line"
    lines[i] = b",".join(edit(lines[i].split(b",")))
    path.write_bytes(b"\n".join(lines))
    return f"line {i + 1}"


def drop_field(path: Path, rng: np.random.Generator) -> str:
    def edit(fields):
        del fields[int(rng.integers(len(fields)))]
        return fields
    return _edit_fields(path, rng, edit)


def duplicate_field(path: Path, rng: np.random.Generator) -> str:
    def edit(fields):
        i = int(rng.integers(len(fields)))
        return fields[:i + 1] + fields[i:]
    return _edit_fields(path, rng, edit)


def replace_field(path: Path, rng: np.random.Generator) -> str:
    value = SPECIAL_VALUES[int(rng.integers(len(SPECIAL_VALUES)))]

    def edit(fields):
        fields[int(rng.integers(len(fields)))] = b" " + value.encode()
        return fields
    return _edit_fields(path, rng, edit) + f" <- {value[:20]!r}{'...' if len(value) > 20 else ''}"


def duplicate_line(path: Path, rng: np.random.Generator) -> str:
    lines = path.read_bytes().split(b"\n")
    i = _data_line(lines, rng)
    if i is None:
        return "no data line"
    lines.insert(i, lines[i])
    path.write_bytes(b"\n".join(lines))
    return f"line {i + 1}"


def garbage_bytes(path: Path, rng: np.random.Generator) -> str:
    data = path.read_bytes()
    at = int(rng.integers(len(data) + 1))
    junk = rng.choice([b"\xff\xfe", b"\x00", b"\r", b",", b"\n", b"\xc3", b"\xe9t\xe9", b"#", b" , ,"],
                      size=int(rng.integers(1, 4))).tolist()
    junk += [bytes(rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8))]
    path.write_bytes(data[:at] + b"".join(junk) + data[at:])
    return f"at byte {at}"


def truncate(path: Path, rng: np.random.Generator) -> str:
    data = path.read_bytes()
    at = int(rng.integers(len(data) + 1))
    path.write_bytes(data[:at])
    return f"at byte {at} of {len(data)}"


def header(path: Path, rng: np.random.Generator) -> str:
    lines = path.read_bytes().split(b"\n")
    choice = int(rng.integers(3))
    if choice == 0:
        lines = lines[1:]
    else:
        lines[0] = [b"# kapture format: 9.9", b"# kapture format: 1.0"][choice - 1]
    path.write_bytes(b"\n".join(lines))
    return ["dropped", "9.9", "1.0"][choice]


def wrong_type(path: Path, rng: np.random.Generator) -> str:
    lines = path.read_bytes().split(b"\n")
    i = _data_line(lines, rng)
    if i is None:
        return "no data line"
    fields = lines[i].split(b",")
    if len(fields) >= 3:
        column = int(rng.integers(1, 3))
        values = DTYPES if column == 1 else DSIZES
        fields[column] = b" " + values[int(rng.integers(len(values)))].encode()
    lines[i] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    return lines[i][:40].decode("utf-8", "replace")


def binary_values(path: Path, rng: np.random.Generator) -> str:
    data = bytearray(path.read_bytes())
    if len(data) < 8:
        return "too short"
    value = [np.inf, -np.inf, np.nan, 1e300, -5.0, 2.0 ** 70, 0.5][int(rng.integers(7))]
    at = int(rng.integers(len(data) // 8)) * 8
    data[at:at + 8] = np.float64(value).tobytes()
    path.write_bytes(bytes(data))
    return f"{value} at byte {at}"


def append_bytes(path: Path, rng: np.random.Generator) -> str:
    n = int(rng.integers(1, 12))
    with open(path, "ab") as f:
        f.write(bytes(rng.integers(0, 256, n, dtype=np.uint8)))
    return f"{n} bytes"


def to_directory(path: Path, rng: np.random.Generator) -> str:
    path.unlink()
    path.mkdir()
    return "directory"


def to_fifo(path: Path, rng: np.random.Generator) -> str:
    path.unlink()
    os.mkfifo(path)
    return "FIFO"


def to_link(path: Path, rng: np.random.Generator) -> str:
    path.unlink()
    kind = int(rng.integers(3))
    target = [path.name, "does-not-exist", "/"][kind]  # a loop, dangling, a directory
    path.symlink_to(target)
    return ["link loop", "dangling link", "link to /"][kind]


def remove(path: Path, rng: np.random.Generator) -> str:
    path.unlink()
    return "removed"


def folder_loop(path: Path, rng: np.random.Generator) -> str:
    loop = path.parent / f"loop{int(rng.integers(1000))}"
    if not os.path.lexists(loop):
        loop.symlink_to(".", target_is_directory=True)
    return "folder link loop"


TEXT_MUTATIONS = [drop_field, duplicate_field, replace_field, replace_field, replace_field, duplicate_line,
                  garbage_bytes, truncate, header, wrong_type]
BINARY_MUTATIONS = [truncate, binary_values, binary_values, append_bytes, garbage_bytes]
STRUCTURE_MUTATIONS = [to_directory, to_fifo, to_link, remove, folder_loop]


def mutate(root: Path, rng: np.random.Generator) -> list[str]:
    done = []
    for _ in range(int(rng.integers(1, 4))):
        files = _files(root)
        if not files:
            break
        kind = rng.random()
        if kind < 0.6:
            pool = _text_files(root) or files
            ops = TEXT_MUTATIONS
        elif kind < 0.85:
            pool = [p for p in files if p.suffix != ".txt"] or files
            ops = BINARY_MUTATIONS
        else:
            pool, ops = files, STRUCTURE_MUTATIONS
        path = pool[int(rng.integers(len(pool)))]
        op = ops[int(rng.integers(len(ops)))]
        done.append(f"{op.__name__} {path.relative_to(root)} ({op(path, rng)})")
    return done


# ------------------------------------------------------------------------------------------ running
class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang


@dataclass
class Outcome:
    kind: str  # accepted, clean error, traceback, hang
    detail: str = ""


def _tool(main: Callable[[list[str]], int], root: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["-i", str(root)])
    return code, out.getvalue(), err.getvalue()


def run_case(root: Path, timeout: float) -> Outcome:
    """Every reader on the dataset at ``root``: the worst outcome of them."""
    clean = False
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    step = "load"
    try:
        try:
            load_kapture(root)
        except KapturelikeError:
            clean = True
        step = "load (collecting problems)"
        try:
            load_kapture(root, on_error=[].append, check_images=True)
        except KapturelikeError:
            clean = True
        for step, main in (("kapture_print", kapture_print.main), ("kapture_check", kapture_check.main)):
            code, out, err = _tool(main, root)
            lines = err.splitlines() + (out.splitlines() if step == "kapture_check" else [])
            if "internal error" in err or "Traceback" in err or code not in (0, 1):
                return Outcome("traceback", f"{step}: exit {code}: {err.strip()[:300]}")
            errors = [line for line in err.splitlines() if line.startswith("error")]
            if len(errors) > 1 or (code == 1 and step == "kapture_print" and not errors):
                return Outcome("traceback", f"{step}: exit {code} with {len(errors)} error lines")
            long = [line for line in lines if len(line) > 500]
            if long:
                return Outcome("traceback", f"{step}: a line of {len(long[0])} characters")
            clean |= code == 1
    except Hang:
        return Outcome("hang", step)
    except Exception as e:  # noqa: BLE001 -- what the fuzzer looks for
        return Outcome("traceback", f"{step}: {type(e).__name__}: {str(e)[:300]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return Outcome("clean error" if clean else "accepted")


def fuzz(cases: int, seed: int = 0, timeout: float = 10.0, work: Path | None = None) -> tuple[Counter, list[str]]:
    """Counts of each outcome over ``cases`` seeded cases, and the descriptions of the bad ones."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        bases = make_bases(tmp / "base")
        counts: Counter = Counter()
        bad: list[str] = []
        for case in range(cases):
            rng = np.random.default_rng([seed, case])
            base = bases[int(rng.integers(len(bases)))]
            root = tmp / "case" / base.name
            shutil.copytree(base, root, symlinks=True)
            done = mutate(root, rng)
            outcome = run_case(root, timeout)
            counts[outcome.kind] += 1
            if outcome.kind in ("traceback", "hang"):
                bad.append(f"case {case} ({base.name}: {'; '.join(done)}): {outcome.kind}: {outcome.detail}"[:1000])
            shutil.rmtree(tmp / "case")
        return counts, bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a case counts as a hang")
    parser.add_argument("--show", type=int, default=10, help="bad cases to print")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts, bad = fuzz(args.cases, args.seed, args.timeout)
    for line in bad[:args.show]:
        print(line)
    print(f"{args.cases} cases in {time.perf_counter() - start:.0f} s: {counts['clean error']} clean errors, "
          f"{counts['accepted']} accepted, {counts['traceback']} tracebacks, {counts['hang']} hangs")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
