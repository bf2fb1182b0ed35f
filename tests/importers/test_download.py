"""kapture_download_dataset against a local HTTP server on 127.0.0.1 started by the test (no internet):
install with licence, multi-part archive, interrupted transfer resumed, wrong checksum, missing part,
server error, broken archive, refused licence, update."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml

from kapturelike.importers import download as dl
from kapturelike.tools import kapture_download_dataset

LICENSE = "You may use this dataset for research only."


class Server:
    """Files served with HTTP range support; some paths fail (status), some are cut once mid-transfer."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail: dict[str, int] = {}
        self.cut_once: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path, byte_range = self.path, self.headers.get("Range")
                server.requests.append((path, byte_range))
                if path in server.fail:
                    self.send_error(server.fail[path])
                    return
                if path not in server.files:
                    self.send_error(404)
                    return
                data = server.files[path]
                start, end = 0, len(data) - 1
                if byte_range:
                    first, _, last = byte_range.removeprefix("bytes=").partition("-")
                    start, end = int(first), int(last) if last else len(data) - 1
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:end + 1]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if path in server.cut_once and len(body) > 1000:  # the connection drops half way
                    server.cut_once.discard(path)
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def noise(seed: bytes, n: int) -> bytes:
    """Incompressible bytes (archives big enough to be cut half way)."""
    return b"".join(hashlib.sha512(seed + i.to_bytes(4, "big")).digest() for i in range(n // 64 + 1))[:n]


def publish(server: Server, root: Path) -> dict:
    """Two datasets sharing a top folder: one archive (with a licence), one in three parts."""
    mapping = tar_gz({"Demo/mapping/sensors/sensors.txt": b"# kapture format: 1.1\n",
                      "Demo/mapping/big.bin": noise(b"m", 20000)})
    query = tar_gz({"Demo/query/sensors/sensors.txt": b"# kapture format: 1.1\n",
                    "Demo/query/noise.bin": noise(b"q", 20000)})
    thirds = [query[: len(query) // 3], query[len(query) // 3: 2 * len(query) // 3], query[2 * len(query) // 3:]]
    server.files.update({"/demo_mapping.tar.gz": mapping, "/LICENSE.txt": LICENSE.encode()})
    server.files.update({f"/demo_query.tar.gz.{i}": part for i, part in enumerate(thirds)})
    index = {"Demo_mapping": {"url": f"{server.url}/demo_mapping.tar.gz", "sha256sum": sha(mapping),
                              "license": f"{server.url}/LICENSE.txt"},
             "Demo_query": {"parts": [{"url": f"{server.url}/demo_query.tar.gz.{i}", "sha256sum": sha(part)}
                                      for i, part in enumerate(thirds)]}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "kapture_dataset_index.yaml").write_text(yaml.safe_dump(index))
    return index


def run_tool(root: Path, *argv: str) -> int:
    return kapture_download_dataset.main(["-q", "-i", str(root), *argv])


def test_install_list_and_licence(server: Server, tmp_path: Path, capsys, monkeypatch) -> None:
    root = tmp_path / "datasets"
    publish(server, root)
    assert run_tool(root, "list") == 0
    out = capsys.readouterr().out
    assert "not installed" in out and "Demo_query" in out and "(+2 parts)" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert run_tool(root, "install", "Demo_*") == 0
    out = capsys.readouterr().out
    assert LICENSE in out and out.index(LICENSE) < out.index("Demo_mapping: installed")
    assert (root / "Demo/mapping/big.bin").read_bytes() == noise(b"m", 20000)
    assert (root / "Demo/query/noise.bin").read_bytes() == noise(b"q", 20000)
    assert not list(root.glob("*.tar.gz*")) and not list(root.glob(".extracting-*"))  # archives cleaned
    assert yaml.safe_load((root / "kapture_dataset_installed.yaml").read_text()) == ["Demo_mapping", "Demo_query"]
    assert yaml.safe_load((root / "kapture_dataset_licenses.yaml").read_text()) == [f"{server.url}/LICENSE.txt"]
    assert run_tool(root, "list", "--full") == 0
    assert capsys.readouterr().out.count("installed") == 2
    # installed: a second install downloads nothing
    count = len(server.requests)
    assert run_tool(root, "install", "Demo_mapping") == 0
    assert len(server.requests) == count


def test_interrupted_transfer_resumes(server: Server, tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    publish(server, root)
    server.cut_once.add("/demo_mapping.tar.gz")
    assert run_tool(root, "install", "--accept_licenses", "Demo_mapping") == 0
    ranges = [r for p, r in server.requests if p == "/demo_mapping.tar.gz" and r not in (None, "bytes=0-0")]
    size = len(server.files["/demo_mapping.tar.gz"])
    assert ranges == [f"bytes={size // 2}-"]  # resumed where the transfer stopped, not from the start
    assert (root / "Demo/mapping/big.bin").is_file()


def test_wrong_checksum_installs_nothing(server: Server, tmp_path: Path, capsys) -> None:
    root = tmp_path / "datasets"
    index = publish(server, root)
    index["Demo_mapping"]["sha256sum"] = "0" * 64
    (root / "kapture_dataset_index.yaml").write_text(yaml.safe_dump(index))
    assert run_tool(root, "install", "--accept_licenses", "Demo_mapping") == 1
    assert "sha256" in capsys.readouterr().err
    assert not (root / "Demo").exists() and not list(root.glob("demo*")) and not list(root.glob("Demo_*"))
    gets = [p for p, r in server.requests if p == "/demo_mapping.tar.gz" and r != "bytes=0-0"]
    assert len(gets) == 2  # downloaded again once, then refused
    assert not (root / "kapture_dataset_installed.yaml").exists()


def test_missing_part_and_server_error(server: Server, tmp_path: Path, capsys) -> None:
    root = tmp_path / "datasets"
    publish(server, root)
    part = server.files.pop("/demo_query.tar.gz.2")
    assert run_tool(root, "install", "Demo_query") == 1
    assert "404" in capsys.readouterr().err
    assert not (root / "Demo").exists()
    assert run_tool(root, "list", "Demo_query") == 1  # incomplete
    assert "incomplete" in capsys.readouterr().out
    server.fail["/demo_query.tar.gz.2"] = 500
    assert run_tool(root, "install", "Demo_query") == 1
    assert "500" in capsys.readouterr().err and not (root / "Demo").exists()
    # the server is fixed: the parts already there are not downloaded again
    del server.fail["/demo_query.tar.gz.2"]
    server.files["/demo_query.tar.gz.2"] = part
    before = len([p for p, r in server.requests if p == "/demo_query.tar.gz.0" and r != "bytes=0-0"])
    assert run_tool(root, "install", "Demo_query") == 0
    after = len([p for p, r in server.requests if p == "/demo_query.tar.gz.0" and r != "bytes=0-0"])
    assert after == before and (root / "Demo/query/noise.bin").is_file()


def test_broken_archive_leaves_nothing_half_extracted(server: Server, tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    index = publish(server, root)
    broken = server.files["/demo_mapping.tar.gz"][:-200]  # checksum right, archive cut
    server.files["/demo_mapping.tar.gz"] = broken
    index["Demo_mapping"]["sha256sum"] = sha(broken)
    (root / "kapture_dataset_index.yaml").write_text(yaml.safe_dump(index))
    assert run_tool(root, "install", "--accept_licenses", "Demo_mapping") == 1
    assert not (root / "Demo").exists() and not list(root.glob(".extracting-*"))


def test_refused_licence_and_update(server: Server, tmp_path: Path, monkeypatch, capsys) -> None:
    root = tmp_path / "datasets"
    index = publish(server, root)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert run_tool(root, "install", "Demo_mapping") == 0
    assert not (root / "Demo").exists() and not (root / "kapture_dataset_licenses.yaml").read_text().strip("[]\n")
    # update: the index is fetched from --repo; --index reads another index file
    server.files["/repo/kapture_dataset_index.yaml"] = yaml.safe_dump(index).encode()
    fresh = tmp_path / "fresh"
    assert run_tool(fresh, "update", "--repo", f"{server.url}/repo") == 0
    assert "2 datasets" in capsys.readouterr().out
    assert dl.read_index(fresh / "kapture_dataset_index.yaml").keys() == {"Demo_mapping", "Demo_query"}
    assert run_tool(tmp_path / "other", "--index", str(root / "kapture_dataset_index.yaml"), "list", "*query") == 0
    out = capsys.readouterr().out
    assert "Demo_query" in out and "Demo_mapping" not in out
    assert run_tool(fresh, "update", "--repo", f"{server.url}/nothing") == 1
    assert run_tool(root, "install", "nothing*") == 1


def test_kapture_index_reads_unchanged(tmp_path: Path) -> None:
    (tmp_path / "index.yaml").write_text(
        "RIO10_scene01_mapping:\n  license: http://x/RIO10_LICENSE.txt\n  sha256sum: F981A3\n"
        "  url: http://x/RIO10_scene01_mapping.tar.gz\nbroken:\n  url: http://x/a.tar.gz\n")
    with pytest.raises(dl.DownloadError, match="dataset 'broken': field 'url' or 'sha256sum' is missing"):
        dl.read_index(tmp_path / "index.yaml")
    entry = dl.read_index(tmp_path / "index.yaml", ["RIO10_*"])["RIO10_scene01_mapping"]
    assert entry.parts == [dl.Part("http://x/RIO10_scene01_mapping.tar.gz", "f981a3")]
    assert entry.license_url == "http://x/RIO10_LICENSE.txt"


V10 = b"# kapture format: 1.0\n"


def test_installed_1_0_dataset_is_upgraded_as_kapture_does(server: Server, tmp_path: Path, capsys) -> None:
    """A kapture 1.0 dataset is upgraded to 1.1 in place once installed (kapture's downloader does so), and so are
    1.0 feature folders kept outside it; `upgrade` upgrades what an older install left in 1.0. kapture reads the
    result; its feature files are unchanged."""
    import kapture.io.csv as kcsv

    kpt = np.arange(6, dtype=np.float32).tobytes()
    files = {"Old/mapping/sensors/sensors.txt": V10 + b"cam, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n",
             "Old/mapping/sensors/records_camera.txt": V10 + b"0, cam, a.jpg\n",
             "Old/mapping/reconstruction/keypoints/keypoints.txt": V10 + b"sift, float32, 2\n",
             "Old/mapping/reconstruction/keypoints/a.jpg.kpt": kpt,
             "Old/local_features/r2d2/keypoints/keypoints.txt": V10 + b"r2d2, float32, 2\n",
             "Old/local_features/r2d2/keypoints/a.jpg.kpt": kpt,
             "Old/local_features/r2d2/descriptors/descriptors.txt": V10 + b"r2d2, uint8, 4\n"}
    archive = tar_gz(files)
    server.files["/old.tar.gz"] = archive
    root = tmp_path / "datasets"
    root.mkdir()
    (root / "kapture_dataset_index.yaml").write_text(yaml.safe_dump(
        {"Old": {"url": f"{server.url}/old.tar.gz", "sha256sum": sha(archive)}}))
    assert run_tool(root, "install", "Old") == 0
    dataset = root / "Old/mapping"
    assert (dataset / "sensors/sensors.txt").read_text().startswith("# kapture format: 1.1\n")
    theirs = kcsv.kapture_from_dir(str(dataset))
    assert theirs.format_version == "1.1" and set(theirs.keypoints) == {"sift"}
    assert (dataset / "reconstruction/keypoints/sift/a.jpg.kpt").read_bytes() == kpt
    orphan = root / "Old/local_features/r2d2"
    for kind in ("keypoints", "descriptors"):
        assert (orphan / kind / f"{kind}.txt").read_text().startswith("# kapture format: 1.1\n")
    # an install made before (files left in 1.0): `upgrade` upgrades it
    (dataset / "sensors/sensors.txt").write_bytes(files["Old/mapping/sensors/sensors.txt"])
    (dataset / "sensors/records_camera.txt").write_bytes(files["Old/mapping/sensors/records_camera.txt"])
    capsys.readouterr()
    assert kapture_download_dataset.main(["-i", str(root), "upgrade", "Old"]) == 0
    assert "1 dataset(s) upgraded to kapture 1.1" in capsys.readouterr().out
    assert kcsv.kapture_from_dir(str(dataset)).format_version == "1.1"
