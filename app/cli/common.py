"""Helpers shared by the platform's commands: consoles, one committed session per command, clean failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from app.core.config import Settings

# The CLI is a caller like an HTTP request: its actions are audited under this actor.
CLI_ACTOR = "cli"


def out() -> Console:
    # Built per call so the width follows the terminal (and COLUMNS) at run time.
    return Console()


def err() -> Console:
    return Console(stderr=True)


@contextmanager
def session() -> Iterator[Session]:
    """A session that commits once when the command's block ends (rolled back on an exception)."""
    from app.core import registry  # noqa: F401
    from app.core.db import one_off_session

    url = str(settings().database_url)
    _require_schema(url)
    with one_off_session(url) as db:
        yield db


def settings() -> Settings:
    """The settings, or a clean failure naming where the keys were looked for (``config.KeysMissing``)."""
    from app.core.config import KeysMissing, get_settings

    try:
        return get_settings()
    except KeysMissing as exc:
        raise fail(str(exc)) from None


def _require_schema(url: str) -> None:
    """Refuse, naming where it looked, a database that is not there or holds no rtbf schema: connecting would
    create an empty SQLite file, and the command would fail on a missing table."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from app.core.migrate import current_revision

    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not Path(parsed.database).is_file():
        raise fail(f"no rtbf database at {Path(parsed.database).resolve()}: run this command where rtbf was set up "
                   "(RTBF_DATA_DIR, ./var by default; or DATABASE_URL), or `rtbf up` to set up a new one")
    if current_revision(url) is None:
        raise fail(f"the database {shown} holds no rtbf schema: run `rtbf db upgrade` (or `rtbf up`) first")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one red line on stderr and return the exit to raise (1: refused/failed, 2: bad usage or input)."""
    # Escaped: messages quote values such as ['email'] that rich would read as markup.
    err().print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def parse_anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64:
        raise fail("--anchor is SEQ:HASH as printed by an earlier `rtbf audit verify`.", code=2)
    return int(seq), digest
