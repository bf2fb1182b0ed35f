"""Download and install kapture datasets from kapture's dataset index (kapture_dataset_index.yaml):
update the index, list the datasets and their status, download, install (licence shown first; a kapture 1.0
dataset is upgraded to 1.1 in place once installed, as kapture does), upgrade the installed 1.0 datasets."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kapturelike.importers.download import (
    DEFAULT_REPOSITORY_URL,
    INDEX_FILENAME,
    DownloadError,
    InstallDir,
    check_licenses,
    download,
    fetch_text,
    install_dataset,
    read_index,
    status,
    upgrade_installed,
)
from kapturelike.io.text import atomic_write
from kapturelike.tools import flags
from kapturelike.tools.cli import configure_logging, make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("kapture_download_dataset", __doc__)
    flags.add_verbosity(parser)
    parser.set_defaults(verbose=logging.INFO)  # kapture's downloader reports at info by default
    parser.add_argument("-i", "--install_path", default=os.path.normpath(os.path.abspath(".")),
                        help="folder where datasets are installed, with the index and the install logs [.]")
    parser.add_argument("--index", default=None,
                        help=f"dataset index file to use [<install_path>/{INDEX_FILENAME}]")
    sub = parser.add_subparsers(dest="cmd", help="sub-command")
    update = sub.add_parser("update", help="update the dataset index")
    update.add_argument("--repo", default=DEFAULT_REPOSITORY_URL, help="url of the index repository")
    listing = sub.add_parser("list", help="list the datasets of the index and their status")
    listing.add_argument("dataset", nargs="*", default=[], help="names or unix-like patterns (quote them)")
    listing.add_argument("--full", action="store_true", default=False, help="also probe the remote archives")
    install = sub.add_parser("install", help="download, check and install datasets")
    install.add_argument("-f", "--force", action="store_true", default=False,
                         help="install again even if installed already")
    install.add_argument("--no_cleaning", action="store_true", default=False, help="keep the downloaded archives")
    install.add_argument("--accept_licenses", action="store_true", default=False,
                         help="agree to the licences shown without asking")
    install.add_argument("dataset", nargs="*", default=[], help="names or unix-like patterns (quote them)")
    down = sub.add_parser("download", help="download and check datasets, without installing them")
    down.add_argument("-f", "--force", action="store_true", default=False, help="download again from scratch")
    down.add_argument("dataset", nargs="*", default=[], help="names or unix-like patterns (quote them)")
    upgrade = sub.add_parser("upgrade", help="upgrade the installed kapture 1.0 datasets to 1.1, in place")
    upgrade.add_argument("dataset", nargs="*", default=[])
    return parser


def _ask(question: str) -> bool:
    print(f"{question} [y/N]")
    try:
        return input().strip().lower() in ("y", "ye", "yes")
    except EOFError:  # no one to answer: not agreed
        return False


def _matching(install: InstallDir, patterns: list[str]) -> dict:
    entries = read_index(install.index_path, patterns)
    if not entries:
        raise DownloadError(f"no dataset of {install.index_path} matches {' '.join(patterns) or '*'} "
                            "(quote the patterns so that the shell leaves '*' alone)")
    return entries


def action(args: argparse.Namespace) -> int:
    configure_logging(args.verbose)
    progress = args.verbose < logging.CRITICAL
    install = InstallDir(args.install_path, args.index)
    if args.cmd is None:
        raise ValueError("choose a command: update, list, install, download")
    if args.cmd == "update":
        text = fetch_text(f"{args.repo}/{INDEX_FILENAME}")
        install.root.mkdir(parents=True, exist_ok=True)
        with atomic_write(install.index_path) as f:
            f.write(text)
        count = len(read_index(install.index_path))
        print(f"dataset index updated: {count} datasets ({install.index_path})")
        return 0
    if args.cmd == "upgrade":  # kapture upgrades every 1.0 dataset of the install folder, as after an install
        names = args.dataset and list(_matching(install, args.dataset))
        missing = [n for n in names or [] if n not in install.installed()]
        if missing:
            print(f"warning: not installed, cannot be upgraded: {', '.join(missing)}", file=sys.stderr)
        upgraded = upgrade_installed(install)
        print(f"{len(upgraded)} dataset(s) upgraded to kapture 1.1"
              + "".join(f"\n  {path}" for path in upgraded))
        return 0
    entries = _matching(install, args.dataset)
    if args.cmd == "list":
        code = 0
        for name, entry in entries.items():
            state = status(install, entry, args.full)
            code |= state in ("not reachable", "incomplete", "corrupted")
            print(f"{state:^16}| {name:40} | {entry.url}")
        return int(code)
    if args.cmd == "download":
        for entry in entries.values():
            download(install, entry, args.force, progress)
            print(f"{entry.name}: downloaded")
        return 0
    entries = check_licenses(install, entries, (lambda q: True) if args.accept_licenses else _ask)
    failed = []
    for entry in entries.values():
        try:
            install_dataset(install, entry, args.force, args.no_cleaning, progress)
            print(f"{entry.name}: installed")
        except DownloadError as e:
            print(f"error: {entry.name}: {' '.join(str(e).split())}", file=sys.stderr)
            failed.append(entry.name)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), action, argv)


if __name__ == "__main__":
    raise SystemExit(main())
