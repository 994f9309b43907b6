"""The platform's commands: up, serve, worker, db, officer, apikey, audit, outbox.

Each command opens its own session and commits once at its end (the CLI is a caller like a request).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from app.core.errors import DomainError



def _out() -> Console:
    # Built per call so the width follows the terminal (and COLUMNS) at run time.
    return Console()


def _err() -> Console:
    return Console(stderr=True)


DEFAULT_OFFICER_EMAIL = "officer@rtbf.example"


@contextmanager
def _session() -> Iterator[Session]:
    from app.core import registry  # noqa: F401
    from app.core.config import get_settings
    from app.core.db import make_engine, make_session_factory, unit_of_work

    engine = make_engine(str(get_settings().database_url))
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err().print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _prepare() -> None:
    """Data dir and keys exist (Settings creates them), schema at head."""
    from app.core.config import get_settings
    from app.core.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(str(settings.database_url))


def _first_officer(email: str) -> tuple[str, str] | None:
    from app.officers import service as officer_service

    with _session() as session:
        if officer_service.count_officers(session=session):
            return None
        password = secrets.token_urlsafe(15)
        officer_service.create_officer(session=session, email=email, password=password, name="First officer")
    return email, password


def up(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: settings.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings.port).")] = None,
    officer_email: Annotated[str, typer.Option(help="Email of the first officer, created if none exists.")] = (
        DEFAULT_OFFICER_EMAIL
    ),
) -> None:
    """Run the whole product: migrate, create a first officer, start the web server and a worker."""
    from app.core import processes
    from app.core.config import get_settings

    settings = get_settings()
    _prepare()
    created = _first_officer(officer_email)
    if created:
        _out().print("[bold]First officer created. The password is shown only this once:[/bold]")
        _out().print(f"  email:    {created[0]}\n  password: {created[1]}")
    host, port = host or settings.host, port or settings.port
    env = processes.child_environment(settings, host=host, port=port)
    children = [
        processes.start(processes.web_command(settings, host=host, port=port), env),
        processes.start(processes.worker_command(), env),
    ]
    _out().print(f"rtbf is running at [bold]http://{host}:{port}/[/bold] (officer console: /officer, API: /docs)")
    _out().print("Press Ctrl-C to stop.")
    processes.interrupt_on_sigterm()
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        _err().print("[red]A child process stopped; shutting down.[/red]")
    except KeyboardInterrupt:
        _out().print("Stopping...")
    finally:
        processes.stop(children)


def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the web server only (expects `rtbf db upgrade` to have run)."""
    import uvicorn

    from app.core.config import get_settings

    settings = get_settings()
    # No access log: paths carry the subject's status-link token, which is a secret capability.
    uvicorn.run("app.main:app", host=host or settings.host, port=port or settings.port, access_log=False)


def worker(
    queues: Annotated[str, typer.Option("--queues", "-Q")] = "default,gpu",
    concurrency: Annotated[int, typer.Option()] = 1,
    pool: Annotated[str, typer.Option(help="solo, prefork or threads")] = "solo",
) -> None:
    """Run a Celery worker."""
    from workers.celery_app import celery_app

    celery_app.worker_main(
        ["worker", "-Q", queues, "--concurrency", str(concurrency), "--pool", pool, "--loglevel", "INFO"]
    )


def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default head)."""
    from app.core.config import get_settings
    from app.core.migrate import current_revision, upgrade

    url = str(get_settings().database_url)
    upgrade(url, revision)
    _out().print(f"Database at revision {current_revision(url)}")


def officer_create(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    name: Annotated[str, typer.Option(help="Display name")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters")
    ],
) -> None:
    """Create a compliance officer account."""
    from app.officers import service as officer_service

    try:
        with _session() as session:
            officer = officer_service.create_officer(session=session, email=email, password=password, name=name)
            officer_id = officer.id
    except DomainError as exc:
        raise _fail(exc.message) from None
    _out().print(f"Officer {officer_id} created.")


def apikey_create(
    name: Annotated[str, typer.Option(help="What the key is for")],
    scope: Annotated[list[str], typer.Option("--scope", help="requests:read, requests:write, requests:review, audit:read")],
) -> None:
    """Create an API key; the key is printed once and stored only hashed."""
    from app.apikeys import service as apikey_service

    try:
        with _session() as session:
            key, token = apikey_service.create_key(session=session, name=name, scopes=scope)
            key_id, scopes = key.id, key.scopes
    except DomainError as exc:
        raise _fail(f"{exc.message} {exc.details or ''}".strip()) from None
    _out().print(f"API key {key_id} ({', '.join(scopes)}). Copy it now, it is not shown again:")
    print(token)


def apikey_list() -> None:
    """List API keys (never the keys themselves)."""
    from app.apikeys import service as apikey_service

    with _session() as session:
        keys = apikey_service.list_keys(session=session)
        table = Table("id", "prefix", "name", "scopes", "created", "revoked")
        for key in keys:
            table.add_row(key.id, key.prefix, key.name, " ".join(key.scopes), f"{key.created_at:%Y-%m-%d %H:%M}",
                          f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "")
    _out().print(table)


def apikey_revoke(key_id: Annotated[str, typer.Argument(help="Key id or prefix")]) -> None:
    """Revoke an API key."""
    from app.apikeys import service as apikey_service

    try:
        with _session() as session:
            key = apikey_service.revoke_key(session=session, key_id=key_id)
            revoked_id = key.id
    except DomainError as exc:
        raise _fail(exc.message) from None
    _out().print(f"API key {revoked_id} revoked.")


def _parse_anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64:
        raise _fail("--anchor is SEQ:HASH as printed by an earlier `rtbf audit verify`.", code=2)
    return int(seq), digest


def audit_verify(
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH printed by an earlier run; catches a cut-off tail")] = None,
) -> None:
    """Recompute the audit hash chain; exit 1 naming the first broken entry."""
    from app.audit import service as audit_service

    expected = _parse_anchor(anchor)
    with _session() as session:
        result = audit_service.verify_chain(session=session, anchor=expected)
    if not result.ok:
        raise _fail(f"BROKEN at entry {result.first_bad_seq}: {result.reason} ({result.checked} entries verified before it)")
    _out().print(f"OK {result.checked} entries")
    if result.head_hash:
        _out().print(f"anchor: {result.checked}:{result.head_hash}", soft_wrap=True)


def outbox_list(limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """Show the newest emails in the outbox (the dev inbox of the embedded default)."""
    from app.notifications import service as notification_service

    with _session() as session:
        messages = notification_service.list_outbox(session=session, limit=limit)
    table = Table("created (UTC)", "kind", "to", "subject", "delivery", "body", show_lines=True)
    for m in messages:
        table.add_row(f"{m.created_at:%Y-%m-%d %H:%M:%S}", m.kind, m.to_address, m.subject, m.delivery or "queued",
                      m.body)
    _out().print(table)


def register(app: typer.Typer, *, model_app: typer.Typer) -> None:
    """Add the platform commands to the root ``rtbf`` app. ``model_app`` is reserved for the models registry."""
    del model_app  # the registry commands come with a later issue
    from app.core.logging import configure_logging

    configure_logging("WARNING")
    app.command("up")(up)
    app.command("serve")(serve)
    app.command("worker")(worker)

    db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
    db_app.command("upgrade")(db_upgrade)
    app.add_typer(db_app, name="db")

    officer_app = typer.Typer(no_args_is_help=True, help="Compliance officer accounts.")
    officer_app.command("create")(officer_create)
    app.add_typer(officer_app, name="officer")

    apikey_app = typer.Typer(no_args_is_help=True, help="API keys for /api/v1.")
    apikey_app.command("create")(apikey_create)
    apikey_app.command("list")(apikey_list)
    apikey_app.command("revoke")(apikey_revoke)
    app.add_typer(apikey_app, name="apikey")

    audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
    audit_app.command("verify")(audit_verify)
    app.add_typer(audit_app, name="audit")

    outbox_app = typer.Typer(no_args_is_help=True, help="Emails written by the product (dev outbox).")
    outbox_app.command("list")(outbox_list)
    app.add_typer(outbox_app, name="outbox")
