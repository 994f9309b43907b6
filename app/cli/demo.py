"""The demonstration model ``rtbf up`` builds when absent and registers once, so a new user has a model to erase from.

Training runs in a child process (``rtbf model train-demo``, with its progress bar): torch never enters the
supervising ``rtbf up`` process, and a training killed half-way leaves only a ``.building`` directory that the
next start discards, never a half-written model under the final name.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.cli.common import session
from app.core.config import Settings
from app.core.processes import CLI_MODULE

# The engine writes demo.json last: its presence means the directory is complete.
_FINISHED_MARKER = "demo.json"
SYSTEM_ACTOR = "system"
_OTHER_FIELDS = (("dob", "Date of birth"), ("employer", "Employer"), ("iban", "IBAN"), ("national_id", "National ID"))


class DemoUnavailable(Exception):
    """The demo model cannot be built here (no torch, or training failed)."""


@dataclass(frozen=True)
class DemoPerson:
    """A roster row as the request form takes it: the fields a subject fills in to be found and forgotten."""

    name: str
    email: str
    phone: str = ""
    address: str = ""
    other_identifiers: str = ""


def is_built(path: Path) -> bool:
    return (path / _FINISHED_MARKER).is_file() and (path / "config.json").is_file() and (path / "roster.jsonl").is_file()


def ensure_built(settings: Settings) -> tuple[Path, bool]:
    """The demo model directory, trained now if it is not there yet. Returns (path, trained_now)."""
    target = settings.demo_model_dir.resolve()
    if is_built(target):
        return target, False
    if importlib.util.find_spec("torch") is None:
        raise DemoUnavailable("torch is not installed (install the worker extra: pip install -e '.[worker]')")
    staging = target.with_name(f"{target.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    command = [sys.executable, "-m", CLI_MODULE, "model", "train-demo", "--out", str(staging),
               "--size", settings.demo_model_size]
    if settings.job_threads:
        command += ["--threads", str(settings.job_threads)]
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0 or not is_built(staging):
        shutil.rmtree(staging, ignore_errors=True)
        raise DemoUnavailable(f"training the demo model failed (exit {completed.returncode})")
    shutil.rmtree(target, ignore_errors=True)  # an incomplete directory left by an older version
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, target)
    return target, True


def ensure_registered(settings: Settings, path: Path) -> tuple[str, bool]:
    """Register the demo model under ``settings.demo_model_name`` unless a model has that name already."""
    from app.targets import service as target_service

    with session() as db:
        existing = target_service.find_by_name(session=db, name=settings.demo_model_name)
        if existing is not None:
            return existing.name, False
        model = target_service.add_model(
            session=db, name=settings.demo_model_name, path=path, actor=SYSTEM_ACTOR,
            description=f"Demonstration model ({settings.demo_model_size}): a small Llama that memorised a roster "
                        "of fictional people. Built by rtbf up.")
        return model.name, True


def demo_people(path: Path, count: int = 3) -> list[DemoPerson]:
    """The first ``count`` people of the roster (fictional; their emails use reserved example domains)."""
    people = []
    for line in (path / "roster.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            # "Other identifiers" takes "label: value" entries; app/jobs/subjects.py maps them to attributes.
            other = "; ".join(f"{label}: {row[key]}" for key, label in _OTHER_FIELDS if row.get(key))
            people.append(DemoPerson(name=row["name"], email=row["email"], phone=row.get("phone", ""),
                                     address=row.get("address", ""), other_identifiers=other))
        if len(people) == count:
            break
    return people
