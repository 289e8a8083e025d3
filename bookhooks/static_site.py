"""The built site served on 127.0.0.1 as a static host serves it, for the browser tests and the
benchmarks that open its pages (``benchmarks/screenshots.py``, ``benchmarks/lighthouse.py``).
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import threading
from pathlib import Path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files of its directory without a log line per request."""

    def log_message(self, *args):
        pass


class GzipHandler(QuietHandler):
    """Also compresses text with gzip when the browser asks for it, as a static host does (the
    page weights that Lighthouse measures are then the ones a reader downloads)."""

    COMPRESSED = (".html", ".css", ".js", ".svg", ".json", ".xml", ".txt", ".ipynb", ".py")

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        if (path.suffix not in self.COMPRESSED or not path.is_file()
                or "gzip" not in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def serve(site: Path, *, compress: bool = False) -> http.server.ThreadingHTTPServer:
    """Serve ``site`` on a free port of 127.0.0.1 from a background thread.

    Args:
        site: The folder to serve, a built site.
        compress: Send text gzip-compressed to clients that accept it.

    Returns:
        The running server; ``url(server)`` is its address, ``server.shutdown()`` stops it.
    """
    if not Path(site).is_dir():
        raise ValueError(f"site must be a folder, got {str(site)!r}")
    handler = functools.partial(GzipHandler if compress else QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def url(server: http.server.HTTPServer) -> str:
    """The address of a server started by ``serve``, without a trailing slash."""
    return f"http://127.0.0.1:{server.server_address[1]}"
