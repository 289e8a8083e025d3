"""The offline archive: the site built a second time to be read from the disk, and zipped.

A site served over HTTP does not work opened as files (``file://``): its links name folders
(``maths/calculus/``), its search fetches an index and starts a Web Worker, and a browser does
neither from the disk. Material's ``offline`` plugin builds the site for the disk: links to
``.html`` files, the search index as a script. It also names iframe-worker's shim (which runs
the search worker in an iframe) at a CDN; ``bookhooks/whole_book.py`` serves it from the site
instead, from the npm package pinned in ``bookhooks/iframe-worker/package-lock.json``.

``python -m bookhooks.offline DIR`` builds that site into ``DIR`` from ``mkdocs.yml`` with the
``offline`` plugin added (strict unless ``--no-strict``); ``bookhooks/whole_book.py`` runs it
beside the book's own build, from the figures and glued values that build has just refreshed,
and ``zip_site`` writes it into the book as ``downloads/coursekit-book.zip``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = ["ARCHIVE", "CDN_SHIM", "SHIM", "SHIM_PATH", "is_offline", "offline_config",
           "zip_site"]

CONFIG = ROOT / "mkdocs.yml"
ARCHIVE = "downloads/coursekit-book.zip"
FOLDER = "coursekit-book"  # what the archive unpacks to
SHIM = ROOT / "bookhooks" / "iframe-worker" / "node_modules" / "iframe-worker" / "shim" / "index.js"
SHIM_PATH = "assets/javascripts/iframe-worker-shim.js"
CDN_SHIM = "https://unpkg.com/iframe-worker/shim"  # what Material's offline plugin adds
# Its own cache of the executed lab: the two builds run at the same time, and one must not
# read the file the other is writing (nor evict the other's entry).
JUPYTER_CACHE = ".cache/mkdocs-jupyter-offline"


def is_offline(config) -> bool:
    """Whether ``config`` builds the offline site (Material's ``offline`` plugin is on)."""
    from material.plugins.offline.plugin import OfflinePlugin

    return any(isinstance(plugin, OfflinePlugin) and plugin.config.enabled
               for plugin in config["plugins"].values())


def _plugins() -> list:
    """``mkdocs.yml``'s plugins with ``offline`` added before ``print-site`` (which must be
    last), and the lab's executed copy cached apart."""
    from mkdocs.utils.yaml import yaml_load

    with open(CONFIG, "rb") as file:
        plugins = list(yaml_load(file)["plugins"])
    names = [next(iter(p)) if isinstance(p, dict) else p for p in plugins]
    for index, name in enumerate(names):
        if name == "mkdocs-jupyter":
            options = dict(plugins[index]["mkdocs-jupyter"] or {})
            options["cache_dir"] = JUPYTER_CACHE
            plugins[index] = {"mkdocs-jupyter": options}
    plugins.insert(names.index("print-site") if "print-site" in names else len(plugins),
                   "offline")
    return plugins


def offline_config(site_dir: Path, strict: bool = True):
    """The book's configuration for the offline site, built into ``site_dir``."""
    from mkdocs.config import load_config

    return load_config(str(CONFIG), site_dir=str(site_dir), plugins=_plugins(),
                       use_directory_urls=False, strict=strict)


def zip_site(site_dir: Path, archive: Path) -> int:
    """Zip the built ``site_dir`` into ``archive``, under one folder; return its size in bytes.

    Example:
        >>> import tempfile, zipfile
        >>> from pathlib import Path
        >>> from bookhooks.offline import zip_site
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / "site").mkdir(), (root / "site" / "index.html").write_text("<p>hi</p>")
        >>> zip_site(root / "site", root / "book.zip") > 0
        True
        >>> zipfile.ZipFile(root / "book.zip").namelist()
        ['coursekit-book/index.html']
    """
    site_dir, archive = Path(site_dir), Path(archive)
    if not (site_dir / "index.html").is_file():
        raise ValueError(f"site_dir must be a built site with index.html, got {site_dir}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as book:
        for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
            book.write(path, f"{FOLDER}/{path.relative_to(site_dir).as_posix()}")
    return archive.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site_dir", type=Path, help="where to build the offline site")
    parser.add_argument("--strict", action=argparse.BooleanOptionalAction, default=True,
                        help="fail on a warning, as make site does (default: yes)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)-7s -  %(message)s")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.exceptions import Abort, ConfigurationError

    try:
        build(offline_config(args.site_dir, strict=args.strict))
    except (Abort, ConfigurationError) as error:
        print(f"offline build failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
