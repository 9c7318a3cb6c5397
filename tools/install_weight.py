"""What an install downloads: its packages, their sizes, and whether any is a GPU build.

Reads the report of a dry-run install made on a fresh machine's terms
(``--isolated``: no pip configuration, no local wheels, PyPI only;
``--ignore-installed``: as if nothing were installed yet)::

    pip install --dry-run --isolated --ignore-installed --report r.json -e ".[test]"
    python tools/install_weight.py r.json

A report names each file to download but not its size, so the sizes are
measured on the files themselves: ``--files DIR`` reads them from a folder
that already holds them; otherwise pip downloads them (``pip download
--no-deps --isolated``, the same files, from pip's cache when it has them)
into a temporary folder. The project itself (a local path) weighs nothing.

Prints the biggest downloads and the total in MB (10^6 bytes), and exits 1
when a file of ``nvidia-*``, ``triton`` or ``torch`` is among them or the
total passes ``--limit`` MB (600 by default: the bar for the test install).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

MB = 1_000_000
LIMIT_MB = 600
# GPU builds that a light install must not pull.
HEAVY = re.compile(r"^(nvidia-.*|triton|torch)$")


def downloads(report: dict) -> list[dict]:
    """``[{"name", "version", "url", "file"}]`` for each remote file of a pip install report."""
    if report.get("version") != "1":
        raise SystemExit(f"install_weight: expected a pip install report of version 1, got {report.get('version')!r}")
    found = []
    for item in report.get("install", []):
        url = item["download_info"]["url"]
        if urlparse(url).scheme == "file":  # the project itself, or a local folder
            continue
        metadata = item["metadata"]
        found.append({"name": metadata["name"], "version": metadata["version"], "url": url,
                      "file": unquote(Path(urlparse(url).path).name)})
    return found


def heavy(files: list[dict]) -> list[str]:
    """The GPU packages among ``files`` (normalized names)."""
    names = {re.sub(r"[-_.]+", "-", f["name"]).lower() for f in files}
    return sorted(name for name in names if HEAVY.match(name))


def sizes_from(folder: Path, files: list[dict]) -> dict[str, int]:
    """Bytes of each file, read from ``folder``; a file that is not there is an error naming it."""
    missing = [f["file"] for f in files if not (folder / f["file"]).is_file()]
    if missing:
        raise SystemExit(f"install_weight: {len(missing)} file(s) not in {folder}: {', '.join(missing[:5])}")
    return {f["file"]: (folder / f["file"]).stat().st_size for f in files}


def fetch(files: list[dict], folder: Path) -> None:
    """Download exactly these files into ``folder`` with pip, as a fresh machine would."""
    command = [sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--quiet", "-d", str(folder),
               *(f["url"] for f in files)]
    subprocess.run(command, check=True)


def summary(files: list[dict], sizes: dict[str, int], shown: int = 12) -> tuple[str, float]:
    """A table of the biggest downloads and the total; (text, total in MB)."""
    ordered = sorted(files, key=lambda f: sizes[f["file"]], reverse=True)
    total = sum(sizes[f["file"]] for f in files) / MB
    width = max((len(f"{f['name']} {f['version']}") for f in ordered[:shown]), default=0)
    lines = [f"{f['name'] + ' ' + f['version']:<{width}}  {sizes[f['file']] / MB:8.1f} MB" for f in ordered[:shown]]
    rest = ordered[shown:]
    if rest:
        lines.append(f"{f'{len(rest)} more':<{width}}  {sum(sizes[f['file']] for f in rest) / MB:8.1f} MB")
    lines.append(f"{'total, ' + str(len(files)) + ' files':<{width}}  {total:8.1f} MB")
    return "\n".join(lines), total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="the JSON of pip install --dry-run --report")
    parser.add_argument("--files", type=Path, help="a folder holding the downloaded files (else pip downloads them)")
    parser.add_argument("--limit", type=float, default=LIMIT_MB, help="most MB allowed (default %(default)s)")
    options = parser.parse_args(argv)
    files = downloads(json.loads(options.report.read_text()))
    if options.files is not None:
        sizes = sizes_from(options.files, files)
    else:
        with tempfile.TemporaryDirectory(prefix="install_weight_") as folder:
            fetch(files, Path(folder))
            sizes = sizes_from(Path(folder), files)
    text, total = summary(files, sizes)
    print(text)
    gpu = heavy(files)
    if gpu:
        print(f"GPU packages pulled: {', '.join(gpu)}")
    if total > options.limit:
        print(f"over the limit: {total:.1f} MB > {options.limit:g} MB")
    return 1 if gpu or total > options.limit else 0


if __name__ == "__main__":
    raise SystemExit(main())
