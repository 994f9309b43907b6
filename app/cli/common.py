"""Helpers shared by the platform's commands: consoles, one committed session per command, clean failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

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
    from app.core.config import get_settings
    from app.core.db import one_off_session

    with one_off_session(str(get_settings().database_url)) as db:
        yield db


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
