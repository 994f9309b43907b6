"""``rtbf audit export`` and ``rtbf audit verify-bundle``: evidence bundles for regulators (see app.audit.bundle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import fail, out, parse_anchor, session
from app.core.errors import DomainError


def audit_export(
    request: Annotated[str, typer.Argument(help="Request id or reference (RTBF-...).")],
    out_path: Annotated[Path, typer.Option("--out", help="File to write the bundle to (JSON).")],
) -> None:
    """Write the evidence bundle of one request: no personal data, checkable offline with verify-bundle."""
    from app.audit.bundle import build_bundle, dumps

    try:
        with session() as db:
            bundle = build_bundle(session=db, request_id=request)
    except DomainError as exc:
        raise fail(exc.message) from None
    try:
        out_path.write_text(dumps(bundle), encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out_path}: {exc.strerror}", code=2) from None
    head = bundle["audit"]["head"]
    out().print(f"Wrote {out_path}: request {bundle['request']['reference']}, {len(bundle['jobs'])} job(s), "
                f"{len(bundle['audit']['entries'])} audit entries.")
    if head:
        out().print(f"head: {head['seq']}:{head['entry_hash']}", soft_wrap=True)


def audit_verify_bundle(
    path: Annotated[Path, typer.Argument(help="A bundle written by `rtbf audit export`.")],
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH kept from an earlier `rtbf audit verify`")] = None,
) -> None:
    """Check a bundle offline (no database): the chain segment, and every hash the entries commit to."""
    from app.audit.bundle_checks import verify_bundle

    expected = parse_anchor(anchor)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}", code=2) from None
    except ValueError as exc:
        raise fail(f"{path} is not JSON: {exc}", code=2) from None
    result = verify_bundle(bundle, anchor=expected)
    if not result.ok:
        more = f" (and {len(result.problems) - 1} more problem(s))" if len(result.problems) > 1 else ""
        raise fail(f"BROKEN: {result.problems[0]}{more}")
    out().print(f"OK {result.entries} entries, {len(bundle['jobs'])} job(s), request {bundle['request']['reference']}")
    out().print(f"head: {result.head_seq}:{result.head_hash}", soft_wrap=True)
