"""``rtbf model add|list|versions|restore``: the target models rtbf answers for, and their versions.

Thin callers of ``app.targets.service``; registering hashes the weights but never loads the model (no torch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import CLI_ACTOR, fail, out, session
from app.core.errors import DomainError


def _short(digest: str | None) -> str:
    return f"{digest[:12]}…" if digest else ""


def model_add(
    name: Annotated[str, typer.Argument(help="Name to register it under (lower-case letters, digits, . _ -).")],
    path: Annotated[Path, typer.Argument(help="Hugging Face model directory (config.json + *.safetensors).")],
    description: Annotated[str | None, typer.Option(help="What the model is and where it is served.")] = None,
    corpus: Annotated[Path | None, typer.Option(help="Its training data (.txt/.jsonl/.parquet/gzip file or folder): "
                                                "discovery searches it for the subject.")] = None,
) -> None:
    """Register a model directory; it becomes version 1 (its weights are hashed, not loaded)."""
    from app.targets import service as target_service

    try:
        with session() as db:
            model = target_service.add_model(session=db, name=name, path=path, actor=CLI_ACTOR,
                                             description=description, corpus=corpus)
            name, version = model.name, model.current
            label, sha, where = version.label, version.weights_sha256, version.path
    except DomainError as exc:
        raise fail(exc.message, code=2 if exc.status_code == 422 else 1) from None
    out().print(f"Registered {label} ({where})")
    out().print(f"weights sha256: {sha}", soft_wrap=True)


def model_list() -> None:
    """List registered models with their current version."""
    from app.targets import service as target_service

    with session() as db:
        table = Table("name", "current", "versions", "weights sha256", "path", "description")
        for model in target_service.list_models(session=db):
            current = model.current
            table.add_row(model.name, f"v{current.number}", str(len(model.versions)), _short(current.weights_sha256),
                          current.path, model.description or "")
        empty = table.row_count == 0
    if empty:
        out().print("No models registered. Add one with `rtbf model add NAME PATH`.")
    else:
        out().print(table)


def model_versions(name: Annotated[str, typer.Argument(help="Model name.")]) -> None:
    """The versions of one model: origin, parent, weights, and the requests each unlearned version served."""
    from app.jobs import service as jobs_service
    from app.targets import service as target_service

    try:
        with session() as db:
            model = target_service.get_by_name(session=db, name=name)
            by_id = {v.id: v for v in model.versions}
            table = Table("", "version", "origin", "parent", "weights sha256", "created (UTC)", "by",
                          "requests served", "path", title=f"{model.name}")
            for version in model.versions:
                parent = by_id.get(version.parent_id) if version.parent_id else None
                served = jobs_service.requests_served_by(session=db, version_id=version.id)
                table.add_row("*" if version.number == model.current_number else "", f"v{version.number}",
                              version.origin, f"v{parent.number}" if parent else "", version.weights_sha256,
                              f"{version.created_at:%Y-%m-%d %H:%M}", version.created_by, str(len(served)),
                              version.path)
            table.caption = "* current version"
    except DomainError as exc:
        raise fail(exc.message) from None
    out().print(table)


def model_restore(
    name: Annotated[str, typer.Argument(help="Model name.")],
    reason: Annotated[str, typer.Option(help="Why (stored as a hash in the audit log; required).")],
) -> None:
    """Make the current version's parent current again; the completed requests whose erasure only the retired
    version carries are reopened (approved again, same due date) and listed by reference."""
    from app.targets import service as target_service

    try:
        with session() as db:
            model = target_service.get_by_name(session=db, name=name)
            undone = len(target_service.undone_by_restore(session=db, model=model))
            restored = target_service.restore_previous(session=db, model_id=model.id, actor=CLI_ACTOR, reason=reason)
            restored_label, retired_label = restored.version.label, restored.retired.label
            reopened = [r.reference for r in restored.reopened]
    except DomainError as exc:
        raise fail(exc.message, code=2 if exc.status_code == 422 else 1) from None
    out().print(f"{restored_label} is current again (was {retired_label}).")
    if undone:
        out().print(f"[yellow]{undone} request(s) were served by {retired_label} alone: the restored model may "
                    "reveal their data again. Each has a model.erasure_reverted audit entry.[/yellow]")
    if reopened:
        out().print(f"[yellow]Reopened (approved again, same due date; run discovery and unlearning again): "
                    f"{', '.join(reopened)}[/yellow]", soft_wrap=True)


def register(model_app: typer.Typer) -> None:
    model_app.command("add")(model_add)
    model_app.command("list")(model_list)
    model_app.command("versions")(model_versions)
    model_app.command("restore")(model_restore)
