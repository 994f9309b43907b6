"""The files around one unlearning run: its output directory, and the side files a demo model carries.

A demo model directory holds ``roster.jsonl`` (the ground truth for others' accuracy) and ``heldout_text.txt``
(for perplexity); any other model has neither, and the run falls back to agreement with its own answers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from workers.engine.errors import EngineError


def demo_extras(model_dir: Path) -> tuple[list[dict[str, str]] | None, list[str] | None]:
    """A demo model directory carries its roster and held-out generic text; any other model does not."""
    roster_file, heldout_file = model_dir / "roster.jsonl", model_dir / "heldout_text.txt"
    roster = ([json.loads(line) for line in roster_file.read_text(encoding="utf-8").splitlines() if line.strip()]
              if roster_file.is_file() else None)
    heldout = ([t for t in heldout_file.read_text(encoding="utf-8").splitlines() if t.strip()]
               if heldout_file.is_file() else None)
    return roster, heldout


def carry_demo_extras(source: Path, model_dir: Path, *, forgotten: list[str]) -> None:
    """An unlearned version of a demo model keeps its held-out text and its roster less the people just
    forgotten, so the next request on that version is judged on the same ground truth (others' accuracy)
    and the new version's directory holds nothing about the people it forgot."""
    roster, _ = demo_extras(source)
    if roster is not None:
        gone = set(forgotten)
        kept = [json.dumps(row, ensure_ascii=False) for row in roster if row.get("name") not in gone]
        (model_dir / "roster.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    if (source / "heldout_text.txt").is_file():
        shutil.copyfile(source / "heldout_text.txt", model_dir / "heldout_text.txt")


def prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise EngineError(f"output directory exists and is not empty: {out_dir}")


def discard_outputs(out: Path, *, created: bool) -> None:
    """Remove what a failed or cancelled run wrote: the directory was new or empty when the run began."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
    elif out.is_dir():
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
