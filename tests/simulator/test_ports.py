"""A busy port is one clear line naming the variable to set and a non-zero exit, not a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def one_line(done: subprocess.CompletedProcess) -> str:
    output = (done.stdout + done.stderr).strip()
    assert "\n" not in output and "Traceback" not in output, output
    return output


def test_preflight_names_the_busy_port_and_the_variable(busy_port):
    done = run("-m", "simulator.preflight", "SIMULATOR_PORT=0", f"PORT={busy_port}")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith(f"port {busy_port} is in use: set PORT=")
    suggested = int(line.split("set PORT=")[1].split()[0])
    assert suggested > busy_port and f"(make run PORT={suggested})" in line


def test_preflight_is_silent_when_the_ports_are_free():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    done = run("-m", "simulator.preflight", f"PORT={free}")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_simulator_on_a_busy_port_says_so_in_one_line(busy_port):
    done = run("-m", "simulator", "--port", str(busy_port), "--orders", "1")
    assert done.returncode == 1
    assert one_line(done).startswith(f"port {busy_port} is in use: set SIMULATOR_PORT=")


def test_the_simulator_port_comes_from_SIMULATOR_PORT(monkeypatch):
    from simulator import default_port

    monkeypatch.setenv("SIMULATOR_PORT", "9123")
    assert default_port() == 9123
    monkeypatch.delenv("SIMULATOR_PORT")
    assert default_port() == 8765


def test_the_procfile_and_makefile_share_SIMULATOR_PORT():
    assert "python -m simulator --port $SIMULATOR_PORT" in (ROOT / "Procfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "SIMULATOR_PORT ?= 8765" in makefile
    assert "-m simulator.preflight PORT=$(PORT) SIMULATOR_PORT=$(SIMULATOR_PORT)" in makefile
