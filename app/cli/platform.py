"""The platform's commands: up, serve, db, officer, apikey, audit, outbox (models: app.cli.models;
evidence bundles: app.cli.bundles; the demo model of ``rtbf up``: app.cli.demo). ``rtbf worker`` runs the workers'
Celery app, so it is the workers' command (``workers/cli.py``, which joins these to the engine's).

Each command opens its own session and commits once at its end (the CLI is a caller like a request).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli.common import CLI_ACTOR
from app.cli.common import err as _err
from app.cli.common import fail as _fail
from app.cli.common import out as _out
from app.cli.common import parse_anchor as _parse_anchor
from app.cli.common import session as _session
from app.core.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.core.config import Settings


DEFAULT_OFFICER_EMAIL = "officer@rtbf.example"


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


def _demo(settings: Settings) -> None:
    """Build (if absent) and register the demo model, then name a few people to file requests for."""
    from app.cli import demo

    try:
        path, trained = demo.ensure_built(settings)
    except demo.DemoUnavailable as exc:
        _err().print(f"[yellow]No demo model: {exc}. Register your own with `rtbf model add NAME PATH`, or set "
                     "RTBF_DEMO_MODEL=false.[/yellow]")
        return
    if trained:
        _out().print(f"Demo model built in {path}")
    name, registered = demo.ensure_registered(settings, path)
    if registered:
        _out().print(f"Registered the demo model as [bold]{name}[/bold].")
    _out().print(f"\n[bold]Demo people[/bold] (fictional; model {name} has memorised their details). File an "
                 "erasure request for one of them on the home page, giving the details below as a subject "
                 "would (the more you give, the more discovery can confirm and unlearning remove):")
    for person in demo.demo_people(path):
        _out().print(f"  {person.name}  <{person.email}>\n    phone: {person.phone}   postal address: "
                     f"{person.address}\n    other identifiers: {person.other_identifiers}", highlight=False)
    _out().print("Their one-time code arrives in the outbox: /officer/outbox (or `rtbf outbox list`).\n")


def up(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: settings.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings.port).")] = None,
    officer_email: Annotated[str, typer.Option(help="Email of the first officer, created if none exists.")] = (
        DEFAULT_OFFICER_EMAIL
    ),
) -> None:
    """Run the whole product: migrate, first officer, demo model (built once, registered), web server, engine
    worker and email worker."""
    from app.core import processes
    from app.core.config import get_settings

    settings = get_settings()
    _prepare()
    created = _first_officer(officer_email)
    if created:
        _out().print("[bold]First officer created. The password is shown only this once:[/bold]")
        _out().print(f"  email:    {created[0]}\n  password: {created[1]}")
    if settings.demo_model:
        _demo(settings)
    host, port = host or settings.host, port or settings.port
    env = processes.child_environment(settings, host=host, port=port)
    # Two workers, so a subject's one-time code never waits behind an hour-long unlearning job; both prefork,
    # the pool in which Celery enforces the tasks' time limits (app/core/processes.py).
    children = [
        processes.start(processes.web_command(settings, host=host, port=port), env),
        processes.start(processes.engine_worker_command(), env),
        processes.start(processes.email_worker_command(), env),
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
    workers: Annotated[int, typer.Option(min=1, max=64, help="Web processes; one tops out between 50 and 100 "
                                         "submits a second on 2 cores, two kept p99 at 28 ms at 100/s "
                                         "(docs/benchmarks.md). Each has its own database pool.")] = 1,
) -> None:
    """Run the web server only (expects `rtbf db upgrade` to have run)."""
    import uvicorn

    from app.cli.common import settings as checked_settings

    settings = checked_settings()  # a clean refusal where nothing was set up (no keys)
    # No access log: paths carry the subject's status-link token, which is a secret capability.
    uvicorn.run("app.main:app", host=host or settings.host, port=port or settings.port, access_log=False,
                workers=workers)


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


def _officer_change(action: Callable[[Session], str]) -> None:
    try:
        with _session() as session:
            message = action(session)
    except DomainError as exc:
        raise _fail(exc.message) from None
    _out().print(message)


def officer_disable(email: Annotated[str, typer.Argument(help="The officer's sign-in email")]) -> None:
    """Disable an officer: they can no longer sign in, and every open session ends now."""
    _officer_set_active(email, active=False, done="disabled; their sessions are ended")


def officer_enable(email: Annotated[str, typer.Argument(help="The officer's sign-in email")]) -> None:
    """Allow a disabled officer to sign in again."""
    _officer_set_active(email, active=True, done="enabled")


def _officer_set_active(email: str, *, active: bool, done: str) -> None:
    from app.officers import service as officer_service

    def action(session: Session) -> str:
        officer = officer_service.set_active(session=session, email=email, active=active, actor=CLI_ACTOR)
        return f"Officer {officer.id} {done}."

    _officer_change(action)


def officer_set_password(
    email: Annotated[str, typer.Argument(help="The officer's sign-in email")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters")
    ],
) -> None:
    """Set an officer's password; every open session of theirs ends (sign in again with the new one)."""
    from app.officers import service as officer_service

    def action(session: Session) -> str:
        officer = officer_service.set_password(session=session, email=email, password=password, actor=CLI_ACTOR)
        return f"Password of officer {officer.id} changed; their sessions are ended."

    _officer_change(action)


def officer_sign_out(email: Annotated[str, typer.Argument(help="The officer's sign-in email")]) -> None:
    """End every open session of an officer (a lost laptop, a shared screen); they can sign in again."""
    from app.officers import service as officer_service

    def action(session: Session) -> str:
        ended = officer_service.end_sessions(session=session, email=email, actor=CLI_ACTOR)
        return f"{ended} session{'s' if ended != 1 else ''} ended."

    _officer_change(action)


def apikey_create(
    name: Annotated[str, typer.Option(help="What the key is for")],
    scope: Annotated[list[str], typer.Option("--scope", help="requests:read, requests:write, requests:review, "
                                                            "audit:read, models:read, models:write, jobs:write")],
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
    # Each email as a header line and its body in full: in a table the body got what the other columns left (ten
    # characters on an 80-column terminal), and a one-time code was cut off.
    console = _out()
    for m in messages:
        console.rule(f"{m.created_at:%Y-%m-%d %H:%M:%S} UTC  {m.kind}  ({m.delivery or 'queued'})", align="left")
        console.print(f"To: {m.to_address}\nSubject: {m.subject}\n", highlight=False, markup=False)
        console.print(m.body, highlight=False, markup=False, soft_wrap=True)
    if not messages:
        console.print("The outbox is empty.")


# The commands that set the product up: only these may make keys and a database. Every other command (serve and
# worker included: they run what was set up) works on what exists, and says where it looked when nothing is there.
SETS_UP = {"up", "db"}
ENGINE_ONLY = {"probe", "unlearn", "bench", "verify"}  # the engine's commands, on model directories


def _works_on_what_exists(ctx: typer.Context) -> None:
    from app.core.config import forbid_key_creation

    command = ctx.invoked_subcommand
    if command in SETS_UP or command in ENGINE_ONLY or command is None:
        return
    forbid_key_creation()
    ctx.call_on_close(lambda: forbid_key_creation(False))


def register(app: typer.Typer, *, model_app: typer.Typer) -> None:
    """Add the platform commands to the root ``rtbf`` app (and the models registry to ``rtbf model``)."""
    from app.cli import bundles, models
    from app.core.logging import configure_logging

    configure_logging("WARNING")
    app.callback()(_works_on_what_exists)
    app.command("up")(up)
    app.command("serve")(serve)
    models.register(model_app)

    db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
    db_app.command("upgrade")(db_upgrade)
    app.add_typer(db_app, name="db")

    officer_app = typer.Typer(no_args_is_help=True, help="Compliance officer accounts.")
    officer_app.command("create")(officer_create)
    officer_app.command("disable")(officer_disable)
    officer_app.command("enable")(officer_enable)
    officer_app.command("set-password")(officer_set_password)
    officer_app.command("sign-out")(officer_sign_out)
    app.add_typer(officer_app, name="officer")

    apikey_app = typer.Typer(no_args_is_help=True, help="API keys for /api/v1.")
    apikey_app.command("create")(apikey_create)
    apikey_app.command("list")(apikey_list)
    apikey_app.command("revoke")(apikey_revoke)
    app.add_typer(apikey_app, name="apikey")

    audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log and evidence bundles.")
    audit_app.command("verify")(audit_verify)
    audit_app.command("export")(bundles.audit_export)
    audit_app.command("verify-bundle")(bundles.audit_verify_bundle)
    app.add_typer(audit_app, name="audit")

    outbox_app = typer.Typer(no_args_is_help=True, help="Emails written by the product (dev outbox).")
    outbox_app.command("list")(outbox_list)
    app.add_typer(outbox_app, name="outbox")
