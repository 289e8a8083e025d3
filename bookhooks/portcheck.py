"""Say clearly when the port ``make serve`` wants is taken, instead of a traceback later.
Run as ``python -m bookhooks.portcheck HOST PORT``; exits 1 with a message if it is busy."""

from __future__ import annotations

import socket
import sys


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As MkDocs' server binds: connections of a server that just stopped (TIME_WAIT) do
        # not keep the port from being used again.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    host, port = (sys.argv[1:] if argv is None else argv) or ("127.0.0.1", "8000")
    if port_is_free(host, int(port)):
        return 0
    print(f"make serve: port {port} on {host} is already in use (another `make serve` or "
          f"server?). Stop it, or pick another port: make serve PORT={int(port) + 1}",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
