"""Serving the dashboard on the loopback interface, on a port that is free (or the one asked for)."""

from __future__ import annotations

import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"  # the dashboard is for this machine only: it never listens on the network


def listening_socket(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:`port` (0: any free port), ready for uvicorn. OSError when taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # as uvicorn does: a port left in TIME_WAIT by a stopped dashboard is free again at once (on
    # Linux this never lets two servers listen on one port: a taken port still fails)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def serve(runs: Path, sock: socket.socket) -> None:
    """Serve the dashboard of `runs` on the bound socket until interrupted."""
    import uvicorn

    from .app import create_app

    config = uvicorn.Config(create_app(runs, port=sock.getsockname()[1]), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
