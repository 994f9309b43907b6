"""`rtbf up` on the embedded default: migrates, prints the first officer once, builds (if absent) and registers
the demo model and names three demo people, serves, starts the engine and email workers, and stops (Ctrl-C or
SIGTERM) with its children."""

from __future__ import annotations

import json
import os
import re
import shutil
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


def _roster_people(model_dir: Path, count: int = 3) -> list[dict[str, str]]:
    lines = (model_dir / "roster.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def _celery_processes_of(data_dir: Path) -> list[int]:
    marker = f"RTBF_DATA_DIR={data_dir.resolve()}\0".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"celery" in (proc / "cmdline").read_bytes() and marker in (proc / "environ").read_bytes() + b"\0":
                found.append(int(proc.name))
        except OSError:
            continue  # ended while we looked, or not ours to read
    return found


def _wait_or_explain(proc: subprocess.Popen, data_dir: Path, lines: list[str]) -> None:
    """Wait for ``up`` to stop; if it does not, say which of its processes still live and what it printed last
    (an exception raised in the test's ``finally`` would otherwise hide why it hung), then kill them."""
    try:
        proc.wait(timeout=90)  # a bound, not a target: a loaded 2-core machine stops three processes slowly
    except subprocess.TimeoutExpired:
        living = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "--ppid", str(proc.pid), "-p", str(proc.pid)],
                                capture_output=True, text=True, check=False).stdout
        workers = _celery_processes_of(data_dir)
        proc.kill()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pytest.fail(f"rtbf up did not stop within 90 s of the signal.\nprocesses:\n{living}\nworkers: {workers}\n"
                    f"last output:\n{''.join(lines)[-4000:]}")


# ctrl-c: a fresh data dir, so `up` trains the tiny demo model itself (the slow path, ~15-70 s on 2 cores);
# sigterm: the model is already there (copied from the engine tests' cache), so `up` only registers it.
@pytest.mark.parametrize(("stop_signal", "prebuilt"), [(signal.SIGINT, False), (signal.SIGTERM, True)],
                         ids=["ctrl-c-builds-the-demo-model", "sigterm-finds-the-demo-model"])
def test_up_runs_the_embedded_default_and_stops_with_its_children(tmp_path, tiny_model_dir, stop_signal,
                                                                  prebuilt) -> None:
    port = _free_port()
    data_dir = tmp_path / "var"
    demo_dir = data_dir / "models" / "demo-tiny"
    if prebuilt:
        shutil.copytree(tiny_model_dir, demo_dir)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(RTBF_DATA_DIR=str(data_dir), RTBF_ENVIRONMENT="development", PYTHONPATH=str(REPO_ROOT),
               COLUMNS="200", RTBF_DEMO_MODEL_SIZE="tiny", RTBF_JOB_THREADS="1")
    cmd = [sys.executable, "-c", "from workers.cli import main; main()", "up", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + (90 if prebuilt else 400)
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
        assert (data_dir / "rtbf.sqlite3").exists() and (data_dir / "keys.json").exists()
        # The demo model is there, registered, and three of its people are named after the credentials.
        assert ("Demo model built" in output) is not prebuilt
        assert "Registered the demo model as demo-assistant" in output
        people = _roster_people(demo_dir)
        for person in people:
            assert f"{person['name']}  <{person['email']}>" in output
        assert output.index("password:") < output.index(people[0]["name"])
        assert not (data_dir / "models" / "demo-tiny.building").exists()
        # Both workers come up beside the web server (their logs share up's output), each under its fixed name.
        names = ("rtbf@", "rtbf-email@")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(re.search(rf"{n}\S+ ready\.", "".join(lines)) for n in names):
            time.sleep(0.2)
        assert all(re.search(rf"{n}\S+ ready\.", "".join(lines)) for n in names), "".join(lines)[-3000:]
        assert len(_celery_processes_of(data_dir)) >= 2  # the two workers (and their pool processes)
    finally:
        proc.send_signal(stop_signal)
        _wait_or_explain(proc, data_dir, lines)
    reader.join(timeout=5)
    # Children are gone: the port is free again, and no worker process (nor pool process) of this data dir lives.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    deadline = time.monotonic() + 15
    while _celery_processes_of(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _celery_processes_of(data_dir)
    # Migrating the same data dir again is a no-op at the same revision; the model was registered once.
    second = subprocess.run(cmd[:-3] + ["db", "upgrade"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert second.returncode == 0 and head_revision() in second.stdout
    listing = subprocess.run(cmd[:-3] + ["model", "list"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                             timeout=60, check=False)
    assert listing.returncode == 0 and listing.stdout.count("demo-assistant") == 1, listing.stdout
