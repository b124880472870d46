"""`socialcredit dashboard` as typed: a clear error and its exit code for what a user can get wrong,
never a traceback, and a server only on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from socialcredit.cli import EXIT_BAD_INPUT, EXIT_PORT_IN_USE, app

runner = CliRunner()


def listening_addresses(port: int) -> list[str]:
    """The local addresses of the IPv4 sockets listening on `port`, from /proc/net/tcp (hex, little-endian)."""
    found = []
    for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
            found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_a_missing_folder_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["dashboard", str(tmp_path / "nowhere")])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no folder" in result.output and "Traceback" not in result.output


def test_a_file_for_a_folder_is_a_clear_error(tmp_path):
    (tmp_path / "runs.txt").write_text("")
    result = runner.invoke(app, ["dashboard", str(tmp_path / "runs.txt")])
    assert result.exit_code == EXIT_BAD_INPUT and "is a file" in result.output


def test_a_port_in_use_is_refused_with_its_exit_code(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "socialcredit.cli", "dashboard", str(tmp_path), "--port",
                                 str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_PORT_IN_USE
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_it_prints_its_loopback_address_and_serves_there(tmp_path):
    server = subprocess.Popen([sys.executable, "-m", "socialcredit.cli", "dashboard", str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith(f"dashboard of {tmp_path} on http://127.0.0.1:"), line
        url = line.split(" on ")[1].split(" ")[0]
        for _ in range(200):
            try:
                answer = httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer.status_code == 200 and "No runs in" in answer.text
        port = int(url.rsplit(":", 1)[1])
        assert listening_addresses(port) == ["127.0.0.1"]  # never 0.0.0.0, every interface
    finally:
        server.terminate()
        server.wait(timeout=20)
