"""kapture_download_dataset: list, download and install the datasets of kapture's YAML index.

Index (kapture's ``kapture_dataset_index.yaml``, read unchanged)::

    RIO10_scene01_mapping:
      url: http://.../RIO10_scene01_mapping.tar.gz
      sha256sum: f981a3...
      license: http://.../RIO10_LICENSE.txt      # optional: shown (and agreed) before installing
      install_script: RIO10/install.sh             # optional: run after extraction

A dataset may also come in several parts (``parts: [{url: ..., sha256sum: ...}, ...]``): each part is
downloaded and checked, then the parts, joined in order, form one tar archive.

Install directory state, in kapture's file names so that both tools share it:
``kapture_dataset_installed.yaml`` (installed datasets) and ``kapture_dataset_licenses.yaml``
(licences agreed). Archives are downloaded beside them as ``<name>.tar.gz`` (``.partN`` per part),
first into ``<file>.download``, resumed with HTTP range requests after an interruption, checked
against their sha256 and only then renamed. Extraction goes to a temporary folder inside the
install directory; only a complete extraction is moved into place, so a failure leaves nothing
half-installed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from tqdm import tqdm

from kapturelike.dataset_tools.upgrade import upgrade_in_place, upgrade_orphan_features
from kapturelike.errors import KapturelikeError
from kapturelike.io.text import atomic_write, version_of

logger = logging.getLogger("kapturelike.download")

INDEX_FILENAME = "kapture_dataset_index.yaml"
INSTALLED_FILENAME = "kapture_dataset_installed.yaml"
LICENSES_FILENAME = "kapture_dataset_licenses.yaml"
DEFAULT_REPOSITORY_URL = "https://github.com/naver/kapture/raw/main/dataset"
CHUNK = 1 << 16
TIMEOUT_S = 60


class DownloadError(KapturelikeError, OSError):
    """A dataset could not be downloaded, checked or installed (the message says which and why)."""


@dataclass(frozen=True)
class Part:
    url: str
    sha256sum: str


@dataclass
class DatasetEntry:
    name: str
    parts: list[Part]
    license_url: str | None = None
    install_script: str | None = None

    @property
    def url(self) -> str:
        return self.parts[0].url if len(self.parts) == 1 else f"{self.parts[0].url} (+{len(self.parts) - 1} parts)"


# ------------------------------------------------------------------------------------------ index
def read_index(path: str | Path, patterns: list[str] | None = None) -> dict[str, DatasetEntry]:
    """The datasets of the index at ``path`` whose name matches one of ``patterns`` (unix wildcards)."""
    path = Path(path)
    if not path.is_file():
        raise DownloadError(f"{path}: no dataset index (run 'kapture_download_dataset update' first)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise DownloadError(f"{path}: not a YAML index ({' '.join(str(e).split())})") from None
    if not isinstance(data, dict) or not data:
        raise DownloadError(f"{path}: empty or invalid index (run 'kapture_download_dataset update')")
    entries = {}
    for name, item in data.items():
        if patterns and not any(fnmatch.fnmatch(str(name), p) for p in patterns):
            continue
        entries[str(name)] = _entry(path, str(name), item)
    return entries


def _entry(path: Path, name: str, item: object) -> DatasetEntry:
    if not isinstance(item, dict):
        raise DownloadError(f"{path}, dataset '{name}': expected url and sha256sum fields")
    raw_parts = item.get("parts") or [{"url": item.get("url"), "sha256sum": item.get("sha256sum")}]
    parts = []
    for i, part in enumerate(raw_parts):
        if not isinstance(part, dict) or not part.get("url") or not part.get("sha256sum"):
            raise DownloadError(f"{path}, dataset '{name}'{f', part {i + 1}' if 'parts' in item else ''}: "
                                "field 'url' or 'sha256sum' is missing")
        parts.append(Part(str(part["url"]), str(part["sha256sum"]).lower()))
    return DatasetEntry(name, parts, item.get("license"), item.get("install_script"))


# ------------------------------------------------------------------------------------------ HTTP
def _open(url: str, start: int = 0):
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)


def remote_size(url: str) -> int | None:
    """Size in bytes of the remote file, None when the server does not say (or cannot be reached)."""
    request = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            content_range = response.headers.get("Content-Range", "")
            if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
                return int(content_range.rsplit("/", 1)[1])
            length = response.headers.get("Content-Length")
            return int(length) if response.status == 200 and length and length.isdigit() else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def fetch_text(url: str) -> str:
    try:
        with _open(url) as response:
            return response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url}: server answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"{url}: cannot be reached ({getattr(e, 'reason', e)})") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, partial: Path, progress: bool = True, attempts: int = 3) -> None:
    """Download ``url`` into ``partial``, resuming from its current size (HTTP range), retrying after
    an interrupted transfer; the bytes already there are kept on failure, for the next run."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    total = remote_size(url)
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        start = partial.stat().st_size if partial.is_file() else 0
        if total is not None and start == total:
            return
        if total is not None and start > total:
            partial.unlink()  # bigger than the remote file: not a prefix of it
            start = 0
        try:
            with _open(url, start) as response:
                if start and response.status != 206:  # the server ignored the range: start again
                    start = 0
                with open(partial, "ab" if start else "wb") as f, \
                        tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=partial.name, disable=not progress, leave=False) as bar:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        f.write(block)
                        bar.update(len(block))
            size = partial.stat().st_size
            if total is None or size == total:
                return
            last_error = DownloadError(f"{url}: transfer ended at {size} of {total} bytes")
        except urllib.error.HTTPError as e:
            if e.code == 416 and total is not None and start == total:
                return
            if 400 <= e.code < 500:
                raise DownloadError(f"{url}: server answered {e.code} {e.reason}") from None
            last_error = DownloadError(f"{url}: server answered {e.code} {e.reason}")
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # connection lost: resume
            last_error = DownloadError(f"{url}: transfer interrupted ({getattr(e, 'reason', e)})")
        logger.info("%s (attempt %d/%d), resuming", last_error, attempt, attempts)
    raise last_error or DownloadError(f"{url}: download failed")


# ------------------------------------------------------------------------------------------ install dir
class InstallDir:
    """The install folder: the index, the installed and licence logs, the archives and the datasets."""

    def __init__(self, root: str | Path, index: str | Path | None = None):
        self.root = Path(root)
        self.index_path = Path(index) if index else self.root / INDEX_FILENAME

    def _read_list(self, name: str) -> list[str]:
        path = self.root / name
        if not path.is_file():
            return []
        data = yaml.safe_load(path.read_text())
        return [str(v) for v in data] if isinstance(data, list) else []

    def _write_list(self, name: str, values: list[str]) -> None:
        with atomic_write(self.root / name) as f:
            yaml.safe_dump(sorted(set(values)), f)

    def installed(self) -> set[str]:
        return set(self._read_list(INSTALLED_FILENAME))

    def mark_installed(self, name: str, installed: bool = True) -> None:
        names = self.installed()
        names = names | {name} if installed else names - {name}
        self._write_list(INSTALLED_FILENAME, list(names))

    def agreed_licenses(self) -> set[str]:
        return set(self._read_list(LICENSES_FILENAME))

    def agree_licenses(self, urls: set[str]) -> None:
        self._write_list(LICENSES_FILENAME, list(self.agreed_licenses() | urls))

    def archive(self, entry: DatasetEntry, index: int) -> Path:
        suffix = ".tar.gz" if len(entry.parts) == 1 else f".tar.gz.part{index + 1}"
        return self.root / f"{entry.name}{suffix}"


def status(install: InstallDir, entry: DatasetEntry, check_online: bool = False) -> str:
    """installed, downloaded, incomplete, corrupted, not installed, online <size>, or not reachable."""
    if entry.name in install.installed():
        return "installed"
    archives = [install.archive(entry, i) for i in range(len(entry.parts))]
    partials = [a.with_name(a.name + ".download") for a in archives]
    if all(a.is_file() for a in archives):
        if all(sha256_of(a) == p.sha256sum for a, p in zip(archives, entry.parts)):
            return "downloaded"
        return "corrupted"
    if any(a.is_file() for a in archives) or any(p.is_file() for p in partials):
        return "incomplete"
    if not check_online:
        return "not installed"
    sizes = [remote_size(p.url) for p in entry.parts]
    if any(s is None for s in sizes):
        return "not reachable"
    return f"online {sum(sizes) / (1024 * 1024):5.0f} MB"


def download(install: InstallDir, entry: DatasetEntry, force: bool = False, progress: bool = True) -> list[Path]:
    """Every part of ``entry`` downloaded and checked (sha256); returns the archive files."""
    archives = []
    for i, part in enumerate(entry.parts):
        archive = install.archive(entry, i)
        partial = archive.with_name(archive.name + ".download")
        if force:
            for path in (archive, partial):
                path.unlink(missing_ok=True)
        if archive.is_file() and sha256_of(archive) == part.sha256sum:
            archives.append(archive)
            continue
        archive.unlink(missing_ok=True)
        for attempt in (1, 2):  # a corrupted file is downloaded again once, from scratch
            download_file(part.url, partial, progress)
            digest = sha256_of(partial)
            if digest == part.sha256sum:
                break
            partial.unlink()
            if attempt == 2:
                raise DownloadError(f"{part.url}: sha256 {digest} is not the index's {part.sha256sum} "
                                    "(downloaded twice; the file was removed)")
            logger.warning("%s: sha256 mismatch, downloading it again", part.url)
        os.replace(partial, archive)
        archives.append(archive)
    return archives


class _Joined:
    """The parts of a multi-part archive read as one file, in order."""

    def __init__(self, paths: list[Path]):
        self._files = [open(p, "rb") for p in paths]
        self._i = 0

    def read(self, size: int = -1) -> bytes:
        out = b""
        while self._i < len(self._files) and (size < 0 or len(out) < size):
            block = self._files[self._i].read(-1 if size < 0 else size - len(out))
            if not block:
                self._i += 1
            out += block
        return out

    def close(self) -> None:
        for f in self._files:
            f.close()


def _move_into(src: Path, dst: Path) -> None:
    """Move the tree ``src`` into ``dst``, merging folders (datasets share top folders, e.g. RIO10/)."""
    for item in sorted(src.iterdir()):
        target = dst / item.name
        if item.is_dir() and not item.is_symlink() and target.is_dir():
            _move_into(item, target)
        else:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)


def extract(archives: list[Path], destination: Path) -> None:
    """Extract the (joined) tar archive into ``destination``: into a temporary folder first, moved into
    place only once complete; members leaving the folder (absolute, '..', links out) are refused."""
    destination.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extracting-", dir=destination))
    joined = _Joined(archives)
    try:
        with tarfile.open(fileobj=joined, mode="r|*") as tar:
            for member in tar:
                tar.extract(member, tmp, set_attrs=False, filter="data")
        _move_into(tmp, destination)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DownloadError(f"{archives[0]}: cannot be extracted ({' '.join(str(e).split())})") from None
    finally:
        joined.close()
        shutil.rmtree(tmp, ignore_errors=True)


def check_licenses(install: InstallDir, entries: dict[str, DatasetEntry], ask: Callable[[str], bool],
                   show: Callable[[str], None] = print) -> dict[str, DatasetEntry]:
    """Show each licence not yet agreed and ask; the datasets of a refused licence are dropped."""
    by_license: dict[str, list[str]] = {}
    for name, entry in entries.items():
        if entry.license_url:
            by_license.setdefault(entry.license_url, []).append(name)
    agreed, refused = install.agreed_licenses(), set()
    for url, names in by_license.items():
        if url in agreed:
            continue
        try:
            text = fetch_text(url)
            show(f"licence of {', '.join(names)} ({url}):")
            show(textwrap.fill(" ".join(text.split()), width=100))
            question = "do you agree on these terms?"
        except DownloadError as e:
            show(f"the licence cannot be shown ({e}); it is also at the root of the dataset: {url}")
            question = "please make sure you agree on its terms; do you?"
        if ask(question):
            agreed.add(url)
        else:
            refused.add(url)
            for name in names:
                logger.error("%s: not installed, its licence was not agreed", name)
    install.agree_licenses({u for u in agreed if u in by_license})
    return {n: e for n, e in entries.items() if e.license_url not in refused}


def install_dataset(install: InstallDir, entry: DatasetEntry, force: bool = False, keep_archive: bool = False,
                    progress: bool = True) -> str:
    """Download, check, extract and mark as installed; returns the final status."""
    if force:
        install.mark_installed(entry.name, False)
    elif entry.name in install.installed():
        logger.info("%s: already installed, skipped", entry.name)
        return "installed"
    archives = download(install, entry, force=False, progress=progress)
    extract(archives, install.root)
    if entry.install_script:
        script = (install.root / entry.install_script).resolve()
        if install.root.resolve() not in script.parents or not script.is_file():
            raise DownloadError(f"{entry.name}: install script '{entry.install_script}' is not a file of the dataset")
        done = subprocess.run([str(script)], cwd=install.root)
        if done.returncode:
            raise DownloadError(f"{entry.name}: install script {script} failed (exit {done.returncode})")
    if not keep_archive:
        for archive in archives:
            archive.unlink(missing_ok=True)
    install.mark_installed(entry.name)
    upgrade_installed(install)
    return "installed"


def _file_version(path: Path) -> str | None:
    with open(path, encoding="utf-8", errors="replace") as f:
        return version_of(f.readline())


def upgrade_installed(install: InstallDir) -> list[Path]:
    """kapture's upgrade of an install folder: every kapture dataset below it whose sensors.txt is format 1.0 (or
    has no version line) is upgraded to 1.1 in place, then the 1.0 feature folders kept outside a dataset
    (``<folder>/keypoints|descriptors/<kind>.txt``, ``<folder>/global_features/global_features.txt``) get 1.1
    type files. Returns the datasets upgraded."""
    upgraded = []
    for sensors in sorted(install.root.rglob("sensors.txt")):
        root = sensors.parent.parent
        if sensors.parent.name == "sensors" and _file_version(sensors) in (None, "1.0"):
            upgrade_in_place(root)
            logger.info("%s: upgraded to kapture 1.1", root)
            upgraded.append(root)
    local, global_ = set(), set()
    for name in ("keypoints.txt", "descriptors.txt", "global_features.txt"):
        for type_file in sorted(install.root.rglob(name)):
            if type_file.parent.name != type_file.stem or _file_version(type_file) not in (None, "1.0"):
                continue
            (global_ if type_file.stem == "global_features" else local).add(str(type_file.parent.parent))
    if local or global_:
        upgrade_orphan_features(sorted(global_), sorted(local))
    return upgraded
