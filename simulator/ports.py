"""A busy port is said in one line naming the variable to set, instead of a traceback (`make run`)."""

from __future__ import annotations

import errno
import socket


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when `port` can be bound on `host` now (as runserver and the simulator will bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def next_free_port(port: int, host: str = "127.0.0.1", tries: int = 50) -> int | None:
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        if port_free(candidate, host):
            return candidate
    return None


def busy_message(port: int, variable: str, host: str = "127.0.0.1") -> str:
    """'port 8000 is in use: set PORT=8001 (make run PORT=8001)': the one line `make run` prints."""
    suggestion = next_free_port(port, host) or port + 1
    return f"port {port} is in use: set {variable}={suggestion} (make run {variable}={suggestion})"


def is_address_in_use(exc: OSError) -> bool:
    return exc.errno == errno.EADDRINUSE
