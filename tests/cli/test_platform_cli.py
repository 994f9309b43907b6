from __future__ import annotations

import re

import pytest

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.apikeys import service as apikey_service
from app.cli.platform import DEFAULT_OFFICER_EMAIL, _first_officer
from app.core import processes
from app.core.config import get_settings
from app.core.migrate import head_revision
from app.officers import service as officer_service
from app.requests import service as request_service
from app.requests.schemas import RequestCreate


def _session(url: str) -> Session:
    return Session(create_engine(url, poolclass=NullPool), expire_on_commit=False)


def test_help_lists_the_platform_commands(cli, runner) -> None:
    result = runner.invoke(cli, ["--help"])
    for name in ("up", "serve", "db", "officer", "apikey", "audit", "outbox"):
        assert name in result.output


def test_the_rtbf_command_joins_the_platform_the_worker_and_the_engine(runner) -> None:
    from workers.cli import app

    commands = runner.invoke(app, ["--help"]).output
    for name in ("up", "serve", "worker", "db", "officer", "apikey", "audit", "outbox", "model", "probe", "unlearn",
                 "bench"):
        assert f" {name} " in commands, name
    model = runner.invoke(app, ["model", "--help"]).output
    assert " train-demo " in model and " add " in model



def test_a_worker_on_the_gpu_queue_takes_a_fresh_process_per_task_and_an_email_worker_does_not() -> None:
    def limit(args: list[str]) -> str | None:
        return args[args.index("--max-tasks-per-child") + 1] if "--max-tasks-per-child" in args else None

    assert limit(processes.worker_arguments(queues="gpu")) == "1"
    assert limit(processes.worker_arguments(queues="default,gpu")) == "1"
    assert limit(processes.worker_arguments(queues="default")) is None
    assert limit(processes.worker_arguments(queues="gpu", max_tasks_per_child=0)) is None
    assert limit(processes.engine_worker_command()) == "1" and limit(processes.email_worker_command()) is None
    # The single worker's name before the split: jobs it claimed are still recovered by the engine worker.
    engine = processes.engine_worker_command()
    assert engine[engine.index("--hostname") + 1] == "rtbf@%h" and engine[engine.index("-Q") + 1] == "gpu"


def test_officer_create(cli, runner, cli_database) -> None:
    result = runner.invoke(cli, ["officer", "create", "--email", "dpo@example.org", "--name", "DPO",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    with _session(cli_database) as db:
        assert officer_service.authenticate(session=db, email="dpo@example.org", password="a long enough password")
    again = runner.invoke(cli, ["officer", "create", "--email", "dpo@example.org", "--name", "DPO",
                                "--password", "a long enough password"])
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(cli, ["officer", "create", "--email", "b@example.org", "--name", "B", "--password", "short"])
    assert short.exit_code == 1 and "12 characters" in short.output


def test_officer_create_prompts_for_the_password(cli, runner, cli_database) -> None:
    result = runner.invoke(cli, ["officer", "create", "--email", "p@example.org", "--name", "P"],
                           input="prompted password 1\nprompted password 1\n")
    assert result.exit_code == 0, result.output
    assert "prompted password 1" not in result.output
    with _session(cli_database) as db:
        assert officer_service.authenticate(session=db, email="p@example.org", password="prompted password 1")


def test_apikey_create_list_revoke(cli, runner, cli_database) -> None:
    result = runner.invoke(cli, ["apikey", "create", "--name", "Legal", "--scope", "requests:read",
                                 "--scope", "audit:read"])
    assert result.exit_code == 0, result.output
    token = re.search(r"^(rtbf_\w+_\S+)$", result.output, re.M).group(1)
    with _session(cli_database) as db:
        key = apikey_service.authenticate_key(session=db, token=token)
        assert key is not None and key.scopes == ["audit:read", "requests:read"]
    listing = runner.invoke(cli, ["apikey", "list"], env={"COLUMNS": "300"})
    assert key.prefix in listing.output and token not in listing.output
    revoked = runner.invoke(cli, ["apikey", "revoke", key.id])
    assert revoked.exit_code == 0
    with _session(cli_database) as db:
        assert apikey_service.authenticate_key(session=db, token=token) is None


def test_apikey_with_an_unknown_scope_is_refused(cli, runner, cli_database) -> None:
    result = runner.invoke(cli, ["apikey", "create", "--name", "x", "--scope", "requests:delete"])
    assert result.exit_code == 1 and "valid scope" in result.output
    with _session(cli_database) as db:
        assert apikey_service.list_keys(session=db) == []


def test_audit_verify_ok_then_tampered(cli, runner, cli_database) -> None:
    with _session(cli_database) as db:
        for i in range(3):
            request_service.create_request(session=db, data=RequestCreate(full_name="A", email=f"a{i}@example.org"),
                                           channel="web")
        db.commit()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and ok.output.startswith("OK 3 entries\n")
    anchor = re.search(r"anchor: (3:[0-9a-f]{64})", ok.output).group(1)
    assert runner.invoke(cli, ["audit", "verify", "--anchor", anchor]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--anchor", "3:abc"]).exit_code == 2
    with _session(cli_database) as db:
        db.execute(text("SET LOCAL session_replication_role = replica"))
        db.execute(text("UPDATE audit_entries SET actor = 'system' WHERE seq = 2"))
        db.commit()
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1 and "entry 2" in broken.output and "altered" in broken.output


def test_outbox_list_shows_the_emails(cli, runner, cli_database) -> None:
    with _session(cli_database) as db:
        created = request_service.create_request(
            session=db, data=RequestCreate(full_name="Ada", email="ada@example.org"), channel="web")
        reference = created.request.reference
        db.commit()
    result = runner.invoke(cli, ["outbox", "list", "--limit", "5"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "verification_code" in result.output and reference in result.output and "ada@example.org" in result.output
    # On an 80-column terminal the body is there whole: the six-digit code on its line, not cut to ten characters.
    assert re.search(r"\b\d{6}\b", result.output)
    assert runner.invoke(cli, ["outbox", "list", "--limit", "0"]).exit_code != 0


def test_db_upgrade_reports_the_revision(cli, runner, cli_database) -> None:
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0 and head_revision() in result.output


def test_first_officer_is_created_once(cli_database) -> None:
    email, password = _first_officer(DEFAULT_OFFICER_EMAIL)
    assert _first_officer(DEFAULT_OFFICER_EMAIL) is None
    with _session(cli_database) as db:
        assert officer_service.authenticate(session=db, email=email, password=password)
        assert officer_service.count_officers(session=db) == 1


def _spawned_children(pid: int) -> list[int]:
    """Processes that multiprocessing spawned under ``pid`` (not its resource tracker), read from /proc."""
    from pathlib import Path

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = stat.read_text().rsplit(")", 1)[1].split()[1]
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if parent == str(pid) and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_serve_runs_the_number_of_web_processes_asked_for(cli_database, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from tests.live_server import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": cli_database, "RTBF_DATA_DIR": str(tmp_path / "data")}
    # serve runs what `rtbf up` / `rtbf db upgrade` set up: in a data directory without keys it refuses.
    for command in (["serve", "--port", str(port)], ["worker", "-Q", "default"]):
        refused = subprocess.run([sys.executable, "-m", "workers.cli", *command], env=env,
                                 capture_output=True, text=True, timeout=60, check=False)
        assert refused.returncode == 1 and "no rtbf keys in" in refused.stderr, (command, refused.stderr[-500:])
        assert "Traceback" not in refused.stderr and not (tmp_path / "data").exists()
    assert subprocess.run([sys.executable, "-m", "workers.cli", "db", "upgrade"], env=env, capture_output=True,
                          timeout=60, check=False).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "workers.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "rtbf serve did not answer"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert len(_spawned_children(proc.pid)) == 2  # the two workers under uvicorn's supervisor
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_serve_refuses_no_web_process(cli, runner) -> None:
    assert runner.invoke(cli, ["serve", "--workers", "0"]).exit_code == 2


@pytest.mark.parametrize("command", [["audit", "verify"], ["outbox", "list"], ["apikey", "list"]])
def test_a_command_outside_a_setup_makes_no_keys_and_no_database(cli, runner, tmp_path, monkeypatch,
                                                                   command) -> None:
    """Run in the wrong folder, a command says where it looked; it never writes a new ./var with new keys, under
    which nothing stored before could be read."""
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("RTBF_DATA_DIR", str(elsewhere / "var"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{elsewhere / 'var' / 'rtbf.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, command)
        assert result.exit_code == 1
        assert "no rtbf keys in" in " ".join(result.output.split()) and not (elsewhere / "var").exists()
        # With keys (set in the environment) but no database there: refused by name, and no empty SQLite file.
        from app.core.config import _new_secret

        for field in ("secret_key", "encryption_key", "hmac_key"):
            monkeypatch.setenv(f"RTBF_{field.upper()}", _new_secret(field))
        get_settings.cache_clear()
        result = runner.invoke(cli, command)
        assert result.exit_code == 1 and "no rtbf database at" in " ".join(result.output.split())
        assert not (elsewhere / "var" / "rtbf.db").exists()
    finally:
        get_settings.cache_clear()
    # Key creation is allowed again after the command (a later `rtbf up` in the same process may set up).
    from app.core.config import _key_creation

    assert _key_creation["allowed"]
