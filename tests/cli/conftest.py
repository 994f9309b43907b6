from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from app.cli.platform import register
from app.core.config import get_settings


@pytest.fixture
def cli() -> typer.Typer:
    root = typer.Typer()
    model_app = typer.Typer()
    root.add_typer(model_app, name="model")
    register(root, model_app=model_app)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli_database(make_database, monkeypatch) -> Iterator[str]:
    """The CLI commits, so it gets a fresh database of its own (settings re-read from the environment)."""
    url = make_database()
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    get_settings()  # the data directory's keys, as the setup (`rtbf up`, `rtbf db upgrade`) makes them
    yield url
    get_settings.cache_clear()
