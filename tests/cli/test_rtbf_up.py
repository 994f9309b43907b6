"""`rtbf up` on the embedded default: migrates, prints the first officer once, serves, and stops (Ctrl-C or SIGTERM) with its children."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.core.migrate import head_revision

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_runs_the_embedded_default_and_stops_with_its_children(tmp_path, stop_signal) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(RTBF_DATA_DIR=str(tmp_path / "var"), RTBF_ENVIRONMENT="development", PYTHONPATH=str(REPO_ROOT),
               COLUMNS="200")
    cmd = [sys.executable, "-c", "from app.cli import main; main()", "up", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/v1/requests", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.2)
        output = "".join(lines)
        assert status == 401, output  # the API answers (and wants a key)
        assert f"http://127.0.0.1:{port}/" in output
        password = re.search(r"password:\s+(\S+)", output).group(1)
        assert "officer@rtbf.example" in output and len(password) >= 16
        assert (tmp_path / "var" / "rtbf.sqlite3").exists() and (tmp_path / "var" / "keys.json").exists()
    finally:
        proc.send_signal(stop_signal)
        proc.wait(timeout=30)
    reader.join(timeout=5)
    # Children are gone: the port is free again.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    # Migrating the same data dir again is a no-op at the same revision.
    second = subprocess.run(cmd[:-3] + ["db", "upgrade"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert second.returncode == 0 and head_revision() in second.stdout
